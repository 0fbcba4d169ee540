"""System checks of `oauth_accounts` (settings only; no database, no network).

social-auth reads its own settings, so a host project that forgets one gets a broken connect
flow at the first click rather than an error at start-up; these checks say it at
`manage.py check` instead.

- `liaison_oauth.E001` a provider is half-configured: its client id without its secret, or the
  reverse.
- `liaison_oauth.E002` OIDC client credentials without OAUTH_OIDC_ISSUER (or an issuer that is
  not an https URL).
- `liaison_oauth.E003` SOCIAL_AUTH_URL_NAMESPACE is not "liaison_oauth" (the namespace of
  `oauth_accounts.urls`; social-auth reverses its URLs in it).
- `liaison_oauth.E004` a configured provider's backend is missing from AUTHENTICATION_BACKENDS
  (or, with no provider configured, none of Liaison's backends is listed).
- `liaison_oauth.E005` SOCIAL_AUTH_PIPELINE lacks an entry oauth_accounts needs, or has them
  out of order (tokens would be stored in plaintext `extra_data`, or users created).
- `liaison_oauth.E006` a numeric OAUTH_* setting is not a number in range.
- `liaison_oauth.E100` an app it needs is not installed (`social_django`, and the Liaison apps
  it imports: `integrations.core`, `integrations.outbound`, `integrations.ops`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from integrations.core.checks import missing_app_errors, number_setting_errors
from oauth_accounts import conf

REQUIRES = ("social_django", "integrations.core", "integrations.outbound", "integrations.ops")

# The entries of SOCIAL_AUTH_PIPELINE the flow relies on, in the order they must run
# (oauth_accounts.pipeline's docstring has the whole list).
REQUIRED_PIPELINE: tuple[str, ...] = (
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.social_user",
    "oauth_accounts.pipeline.require_user",
    "social_core.pipeline.social_auth.associate_user",
    "oauth_accounts.pipeline.store_tokens",
)


def _backend_path(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


@register()
def check_dependencies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return missing_app_errors(
        app="oauth_accounts", requires=REQUIRES, check_id="liaison_oauth.E100"
    )


@register()
def check_provider_credentials(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from oauth_accounts.backends import PROVIDERS

    errors: list[CheckMessage] = []
    for cls in PROVIDERS.values():
        names = [name for name in cls.credential_settings if not name.endswith("_ISSUER")]
        set_names = [name for name in names if str(getattr(settings, name, "") or "").strip()]
        if set_names and len(set_names) != len(names):
            missing = [name for name in names if name not in set_names]
            errors.append(
                Error(
                    f"OAuth provider {cls.name!r} is half-configured: {', '.join(set_names)} "
                    f"is set but {', '.join(missing)} is not.",
                    hint=f"Set {' and '.join(names)} (from the provider's developer console), "
                    "or neither to leave the provider off.",
                    id="liaison_oauth.E001",
                )
            )
    oidc_credentials = conf.oidc_client_id() or conf.oidc_client_secret()
    issuer = conf.oidc_issuer()
    if oidc_credentials and not issuer:
        errors.append(
            Error(
                "OAUTH_OIDC_CLIENT_ID / OAUTH_OIDC_CLIENT_SECRET are set but OAUTH_OIDC_ISSUER "
                "is not: the OpenID Connect provider cannot be discovered.",
                hint="Set OAUTH_OIDC_ISSUER to the issuer URL without "
                "/.well-known/openid-configuration, e.g. https://login.example.com/realms/acme.",
                id="liaison_oauth.E002",
            )
        )
    elif issuer:
        parts = urlsplit(issuer)
        loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if not parts.hostname or not (
            parts.scheme == "https" or (parts.scheme == "http" and loopback)
        ):
            errors.append(
                Error(
                    f"OAUTH_OIDC_ISSUER must be an https URL; it is {issuer!r}.",
                    hint="Set OAUTH_OIDC_ISSUER to the issuer URL the provider publishes "
                    "(http only for a loopback host).",
                    id="liaison_oauth.E002",
                )
            )
    return errors


@register()
def check_social_auth_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from oauth_accounts.backends import PROVIDERS

    errors: list[CheckMessage] = []
    namespace = getattr(settings, "SOCIAL_AUTH_URL_NAMESPACE", None)
    if namespace != conf.URL_NAMESPACE:
        errors.append(
            Error(
                f"SOCIAL_AUTH_URL_NAMESPACE must be {conf.URL_NAMESPACE!r} (the namespace of "
                f"oauth_accounts.urls); it is {namespace!r}.",
                hint=f'Set SOCIAL_AUTH_URL_NAMESPACE = "{conf.URL_NAMESPACE}" and include '
                'oauth_accounts.urls (e.g. path("oauth/", include("oauth_accounts.urls"))).',
                id="liaison_oauth.E003",
            )
        )

    backends = [str(path) for path in getattr(settings, "AUTHENTICATION_BACKENDS", ())]
    paths = {name: _backend_path(cls) for name, cls in PROVIDERS.items()}
    configured = [name for name, cls in PROVIDERS.items() if cls.is_configured()]
    wanted = configured or ([] if set(paths.values()) & set(backends) else list(paths))
    missing = [paths[name] for name in wanted if paths[name] not in backends]
    if missing:
        errors.append(
            Error(
                f"AUTHENTICATION_BACKENDS lacks {', '.join(missing)}: social-auth only runs "
                "the backends listed there, so a provider whose backend is missing cannot be "
                "connected.",
                hint="Append the oauth_accounts backends to AUTHENTICATION_BACKENDS, keeping "
                "django.contrib.auth.backends.ModelBackend (README: 'Install into an "
                "existing project').",
                id="liaison_oauth.E004",
            )
        )

    pipeline = [str(entry) for entry in getattr(settings, "SOCIAL_AUTH_PIPELINE", None) or ()]
    absent = [entry for entry in REQUIRED_PIPELINE if entry not in pipeline]
    positions = [pipeline.index(entry) for entry in REQUIRED_PIPELINE if entry in pipeline]
    if absent or positions != sorted(positions):
        problem = f"lacks {', '.join(absent)}" if absent else "has its entries out of order"
        errors.append(
            Error(
                f"SOCIAL_AUTH_PIPELINE {problem}: oauth_accounts stores the tokens encrypted "
                "and links accounts only to the signed-in user through its pipeline steps.",
                hint="Set SOCIAL_AUTH_PIPELINE to the list in oauth_accounts/pipeline.py's "
                f"docstring, in this order: {', '.join(REQUIRED_PIPELINE)}.",
                id="liaison_oauth.E005",
            )
        )
    return errors


@register()
def check_numbers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return number_setting_errors(
        (
            ("OAUTH_REFRESH_MARGIN_SECONDS", int, 0),
            ("OAUTH_IDLE_REFRESH_DAYS", int, 1),
            ("OAUTH_REFRESH_MAX_FAILURES", int, 1),
            ("OAUTH_REFRESH_BACKOFF_SECONDS", int, 0),
            ("OAUTH_REFRESH_BACKOFF_CAP_SECONDS", int, 0),
            ("OAUTH_REFRESH_EVERY_MINUTES", int, 1),
            ("OAUTH_REFRESH_LEASE_SECONDS", int, 1),
            ("OAUTH_REFRESH_WAIT_SECONDS", float, 0),
        ),
        check_id="liaison_oauth.E006",
    )
