"""Connect pages: list, start, callback, disconnect. Thin: parse, call one service, present.

The authorization flow itself is social-core's (`do_auth` / `do_complete`) on Liaison's
backends; these views add the rules around it: login required (unless signing in with a
provider is enabled), POST + CSRF to start and to disconnect, `next` limited to local paths,
and every flow failure rendered as a clear page instead of a 500.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from social_core.actions import do_auth, do_complete
from social_core.exceptions import AuthSessionError, SocialAuthBaseException
from social_django.utils import psa

from integrations.core.exceptions import IntegrationError
from integrations.core.ratelimits import CONNECT_LIMITS, rate_limited
from oauth_accounts import conf, selectors, services
from oauth_accounts.backends import PROVIDERS
from oauth_accounts.exceptions import OAuthError
from oauth_accounts.failures import describe_flow_failure
from oauth_accounts.models import ConnectedAccount

logger = logging.getLogger(__name__)

REDIRECT_FIELD = "next"


def safe_next(request: HttpRequest, value: str | None) -> str | None:
    """`value` when it is a local path on this site (no scheme, no host), else None."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if not url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    return value


def _require_enabled(provider: str) -> type[Any]:
    cls = PROVIDERS.get(provider)
    if cls is None or not cls.is_configured():
        raise Http404("Unknown or disabled provider")
    return cls


def _failure_page(request: HttpRequest, provider: str, exc: BaseException) -> HttpResponse:
    cls = PROVIDERS[provider]
    failure = describe_flow_failure(
        exc,
        provider_title=cls.display_title(),
        callback_url=selectors.callback_url(provider, request=request),
        credential_settings=tuple(cls.credential_settings),
    )
    log = logger.error if failure.status >= 500 and failure.staff_hint else logger.warning
    log(
        "oauth_flow_failed",
        extra={"provider": provider, "code": failure.code, "status": failure.status},
    )
    user = getattr(request, "user", None)
    return render(
        request,
        "oauth_accounts/error.html",
        {
            "failure": failure,
            "provider_title": cls.display_title(),
            "show_staff_hint": bool(user and user.is_staff and failure.staff_hint),
        },
        status=failure.status,
    )


@never_cache
@login_required
@require_GET
def connections(request: HttpRequest) -> HttpResponse:
    accounts = list(selectors.connected_accounts_for_user(request.user))
    rows: list[dict[str, Any]] = [
        {
            "account": account,
            "provider_title": selectors.provider_title(account.provider),
            "status": selectors.account_display_status(account),
        }
        for account in accounts
    ]
    providers = selectors.provider_infos()
    connect_paths = {info.id: info.connect_path for info in providers}
    for row in rows:
        row["status_label"] = selectors.STATUS_LABELS.get(row["status"], row["status"])
        if row["status"] != "active":
            row["reconnect_path"] = connect_paths.get(row["account"].provider)
        if row["status"] == "expiring" and selectors.linked_without_refresh_token(row["account"]):
            row["status_note"] = "Cannot be renewed: reconnect before it expires."
    return render(
        request,
        "oauth_accounts/connections.html",
        {
            "rows": rows,
            "providers": providers,
        },
    )


def _login_for_flow(view: Any) -> Any:
    """login_required, unless signing in with a provider is enabled."""
    protected = login_required(view)

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if conf.login_with_provider_enabled():
            return view(request, *args, **kwargs)
        return protected(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@never_cache
@require_POST
@csrf_protect
@_login_for_flow
@rate_limited(*CONNECT_LIMITS)
def begin(request: HttpRequest, provider: str) -> HttpResponse:
    """Start the authorization: POST only (a GET link could be triggered cross-site)."""
    _require_enabled(provider)
    return _begin(request, provider)


@psa("liaison_oauth:complete")
def _begin(request: HttpRequest, provider: str) -> HttpResponse:
    data = request.POST.copy()
    target = safe_next(request, data.get(REDIRECT_FIELD))
    data[REDIRECT_FIELD] = target or conf.connections_url()
    request.POST = data  # type: ignore[assignment]
    try:
        return do_auth(
            request.backend,  # type: ignore[attr-defined]
            redirect_name=REDIRECT_FIELD,
            user=cast(Any, request.user),
        )
    except (SocialAuthBaseException, IntegrationError, OAuthError) as exc:
        return _failure_page(request, provider, exc)


@never_cache
@require_GET
def complete(request: HttpRequest, provider: str) -> HttpResponse:
    """The callback registered at the provider (`?code=…&state=…` or `?error=…&state=…`)."""
    _require_enabled(provider)
    if not request.user.is_authenticated and not conf.login_with_provider_enabled():
        # The session expired, or the callback was opened in another browser.
        return _failure_page(
            request, provider, AuthSessionError(None, code="session_context_missing")
        )
    return _complete(request, provider)


@psa("liaison_oauth:complete")
def _complete(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        return do_complete(
            request.backend,  # type: ignore[attr-defined]
            _login,
            user=cast(Any, request.user),
            redirect_name=REDIRECT_FIELD,
            request=request,
        )
    except (SocialAuthBaseException, IntegrationError, OAuthError) as exc:
        return _failure_page(request, provider, exc)


def _login(backend: Any, user: Any, social_user: Any) -> None:
    """Sign the user in (only reached when signing in with a provider is enabled)."""
    user.backend = f"{type(backend).__module__}.{type(backend).__name__}"
    login(backend.strategy.request, user)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@csrf_protect
def disconnect(request: HttpRequest, account_id: int) -> HttpResponse:
    """GET shows the confirmation step; POST (with CSRF) revokes and deletes."""
    account = get_object_or_404(ConnectedAccount, pk=account_id, user=request.user)
    title = selectors.provider_title(account.provider)
    if request.method == "GET":
        return render(
            request,
            "oauth_accounts/disconnect_confirm.html",
            {"account": account, "provider_title": title},
        )
    result = services.oauth_account_disconnect(account=account)
    label = account.display_name or account.email or account.uid
    if result.revoked:
        messages.success(
            request, f"Disconnected {title} account {label}; access was revoked at {title}."
        )
    else:
        messages.warning(
            request,
            f"Disconnected {title} account {label} and deleted its tokens here, but {title} "
            f"did not confirm the revocation ({result.error}). You can also remove Liaison's "
            f"access in your {title} account settings.",
        )
    return HttpResponseRedirect(reverse("liaison_oauth:connections"))
