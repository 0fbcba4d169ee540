"""Steps of Liaison's social-auth pipeline (the whole list is SOCIAL_AUTH_PIPELINE in settings).

    social_details → social_uid → auth_allowed → social_user (refuses an account linked to
    another user) → require_user → associate_user → store_tokens

There is no `create_user`, `load_extra_data` or `user_details`: connecting never creates or
edits a Liaison user, and tokens go to `ConnectedAccount` (encrypted) instead of
`UserSocialAuth.extra_data`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from social_core.exceptions import AuthPolicyError

from oauth_accounts import conf, selectors, services


def require_user(
    backend: Any, user: Any = None, social: Any = None, *args: Any, **kwargs: Any
) -> dict[str, Any] | None:
    """A flow without a logged-in user may only sign in to an already linked account, and only
    when signing in with a provider is enabled."""
    request = getattr(backend.strategy, "request", None)
    request_user = getattr(request, "user", None)
    if request_user is not None and request_user.is_authenticated:
        return None
    if not conf.login_with_provider_enabled():
        raise AuthPolicyError(backend, code="authentication_disallowed", stage="pipeline")
    if social is None or user is None:
        raise AuthPolicyError(
            backend,
            "no Liaison user is linked to this provider account",
            code="authentication_disallowed",
            stage="pipeline",
        )
    return None


def store_tokens(
    backend: Any,
    user: Any,
    social: Any,
    response: dict[str, Any],
    details: dict[str, Any],
    uid: str,
    *args: Any,
    new_association: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """Save the token set encrypted and keep only non-secret fields in `extra_data`."""
    extra = backend.extra_data(user, uid, response, details, kwargs)
    account = services.oauth_account_connect(
        user=user,
        social=social,
        provider=backend.name,
        response=response,
        details=details,
        extra_data=extra,
        requested_scopes=backend.get_scope(),
    )
    request = getattr(backend.strategy, "request", None)
    if request is not None:
        label = account.display_name or account.email or account.uid
        title = backend.display_title()
        if selectors.linked_without_refresh_token(account):
            messages.warning(
                request,
                f"Connected your {title} account {label}, but {title} did not allow Liaison to "
                "renew access: the connection stops working when its access token expires, "
                "and you will need to reconnect then.",
            )
        else:
            messages.success(request, f"Connected your {title} account {label}.")
    return {"connected_account": account}
