"""Brute-force rate limits for the login, connect and API endpoints.

`django-ratelimit` counts requests per fixed window in the default cache (Redis when
`REDIS_URL` is set, so every process shares one count); DRF's throttles do the same for the
API. What this module adds on top of both:

- rates read from settings at call time (`RATELIMIT_*`, see `config/settings.py`), so a
  deployment or a test changes them without code; an empty rate switches a limit off;
- a 429 answer with `Retry-After` (django-ratelimit's own default is a 403);
- fail-open while the cache is unreachable: Django's Redis cache raises on a connection error,
  which would turn every login into a 500 during a Redis outage. The limit is skipped instead
  and the outage is logged once (until the cache answers again). Passwords are still hashed
  with Django's slow hashers, so a short unlimited window does not make guessing cheap.

Login is counted three ways (checked in this order): per client IP (`RATELIMIT_LOGIN`), per
username *and* client IP (`RATELIMIT_LOGIN_USERNAME`), and per username from anywhere
(`RATELIMIT_LOGIN_USERNAME_GLOBAL`, a much higher ceiling against guessing spread over many
addresses). A request refused by one limit is not counted by the limits after it, so a flood
from one address stops adding to the username's global count once that address is limited:
one address contributes at most `RATELIMIT_LOGIN_USERNAME` attempts per window to it, and
locking the owner out from elsewhere takes more than `GLOBAL / USERNAME` addresses.

Password reset is counted per client IP (`RATELIMIT_PASSWORD_RESET`) and per submitted address
(`RATELIMIT_PASSWORD_RESET_EMAIL`, case-insensitive), whether or not an account has that
address, so a refusal (429) tells nothing about which addresses exist.

The webhook receive view is deliberately not limited: providers deliver in bursts and every
delivery is authenticated by its signature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import _get_ip, get_usage
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from integrations.core import conf

logger = logging.getLogger(__name__)

# What a cache backend raises when its server is unreachable (Redis, sockets).
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

_outage_logged = False


# A django-ratelimit key: a name (`ip`, `user_or_ip`, `post:<field>` …) or `f(group, request)`.
Key = str | Callable[[str, HttpRequest], str]


@dataclass(frozen=True)
class Limit:
    """One counter: `name` picks the rate setting (`RATELIMIT_<NAME>`), `key` what is counted,
    `methods` which requests."""

    name: str
    key: Key = "ip"
    methods: tuple[str, ...] = ("POST",)


def _posted(field: str, request: HttpRequest) -> str:
    """A submitted form field as counted: trimmed and case-folded (`Admin` is `admin`)."""
    return str(request.POST.get(field, "")).strip().casefold()


def posted_username(group: str, request: HttpRequest) -> str:
    return _posted("username", request)


def posted_username_and_ip(group: str, request: HttpRequest) -> str:
    return f"{_posted('username', request)}\n{_get_ip(request)}"


def posted_email(group: str, request: HttpRequest) -> str:
    return _posted("email", request)


# Order matters: a request refused by a limit is not counted by the ones after it.
LOGIN_LIMITS = (
    Limit("login", key="ip"),
    Limit("login_username", key=posted_username_and_ip),
    Limit("login_username_global", key=posted_username),
)
PASSWORD_RESET_LIMITS = (
    Limit("password_reset", key="ip"),
    Limit("password_reset_email", key=posted_email),
)
CONNECT_LIMITS = (Limit("connect", key="user_or_ip"),)


def _cache_answered() -> None:
    global _outage_logged
    _outage_logged = False


def _cache_failed(exc: BaseException) -> None:
    global _outage_logged
    if not _outage_logged:
        _outage_logged = True
        logger.warning("rate_limit_cache_unavailable", extra={"error": type(exc).__name__})


def seconds_until_allowed(request: HttpRequest, limits: tuple[Limit, ...]) -> int | None:
    """Count this request against `limits` in order; the seconds to wait when one is exceeded.

    The limits after the first exceeded one do not count the request. None when the request
    may go ahead (also when the cache cannot be reached).
    """
    for limit in limits:
        rate = conf.rate_limit(limit.name)
        if rate is None:
            continue
        try:
            usage = get_usage(
                request,
                group=f"liaison.{limit.name}",
                key=limit.key,
                rate=rate,
                method=list(limit.methods),
                increment=True,
            )
        except CACHE_ERRORS as exc:
            _cache_failed(exc)
            continue
        _cache_answered()
        if usage is not None and usage["should_limit"]:
            return max(1, int(usage["time_left"]))
    return None


def too_many_requests(retry_after: int) -> HttpResponse:
    response = HttpResponse(
        f"Too many attempts. Try again in {retry_after} seconds.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(retry_after)
    return response


def rate_limited(*limits: Limit) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer 429 (with `Retry-After`) once any of `limits` is exceeded; else call the view."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            wait = seconds_until_allowed(request, limits)
            if wait is not None:
                logger.info(
                    "rate_limited",
                    extra={"limits": [limit.name for limit in limits], "path": request.path},
                )
                return too_many_requests(wait)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# --- the API (DRF throttles, see REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]) ----------------


class _SettingsRateMixin:
    """Rate from `RATELIMIT_<limit_name>` at call time; fail open when the cache is down.

    DRF copies `DEFAULT_THROTTLE_RATES` into a class attribute at import, so overriding the
    setting later would not reach it; reading our own setting per request does.
    """

    limit_name: str

    def get_rate(self) -> str | None:
        return conf.rate_limit(self.limit_name)

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            allowed: bool = super().allow_request(request, view)  # type: ignore[misc]
        except CACHE_ERRORS as exc:
            _cache_failed(exc)
            return True
        _cache_answered()
        return allowed


class ApiAnonRateThrottle(_SettingsRateMixin, AnonRateThrottle):
    """Anonymous API requests, per client IP (`RATELIMIT_API_ANON`)."""

    limit_name = "api_anon"


class ApiUserRateThrottle(_SettingsRateMixin, UserRateThrottle):
    """Authenticated API requests, per user (`RATELIMIT_API_USER`)."""

    limit_name = "api_user"
