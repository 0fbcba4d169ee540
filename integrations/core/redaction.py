"""Redaction of credentials in URLs, headers, payloads, free text and log records.

One place decides what a secret looks like, so the HTTP client, its exceptions and the logging
filter agree. Two kinds of evidence are used: the *name* a value is filed under (a structured
log field, a JSON or form field, a query parameter, a header) and the *shape* of the value
(Stripe `sk_`/`rk_`/`whsec_` keys, SendGrid `SG.` keys, GitHub and Google tokens, JWTs, a long
random string after a key-ish word, URL user info, email addresses). A few names are also
ordinary words in error payloads (`code=card_declined`, `key`, `token`, `session`): under those
names a value that reads as an identifier (lowercase words joined by `_`, `.` or `-`) is kept,
and anything that looks random is redacted. Ordinary words elsewhere (`status=failed`,
`type=invalid_request_error`) are never touched.

`RedactingFilter` is installed on the console handler in `config/settings.py`; any other
handler can add it too (`{"()": "integrations.core.redaction.RedactingFilter"}`).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[REDACTED]"

# Parameter, field and header names whose values are secrets (compared case-insensitively,
# with "-" and "_" treated alike).
SECRET_NAMES = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "api_key",
        "apikey",
        "x_api_key",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "code",
        "code_verifier",
        "password",
        "passwd",
        "secret",
        "signature",
        "private_key",
        "assertion",
        "client_assertion",
        "session",
        "sessionid",
    }
)

# Names that are also everyday words in error payloads and logs: their values are redacted only
# when they do not read as an identifier (see `_is_plain_word`).
WORDY_NAMES = frozenset({"code", "key", "token", "session", "signature", "secret"})

_NAME_ALTERNATION = "|".join(
    sorted({n.replace("_", "[-_]") for n in SECRET_NAMES}, key=len, reverse=True)
)
# key=value in query strings and form bodies: code=abc&state=x
_PAIR_RE = re.compile(rf"(?i)(?<![\w-])((?:{_NAME_ALTERNATION}))=([^&\s\"',;]+)")
# JSON or Python-repr fields: "client_secret": "abc" / 'token': 'abc'
_FIELD_RE = re.compile(
    rf"(?i)([\"'](?:{_NAME_ALTERNATION})[\"']\s*:\s*)([\"'])((?:\\.|(?!\2).)*)\2"
)
# Header lines: Authorization: Bearer abc
_HEADER_RE = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|cookie|set-cookie)(\s*[:=]\s*)([^\r\n,}]+)"
)
# Credentials after an auth scheme anywhere in text (only values that look random: "token
# expired" and "Bearer authentication" are words).
_SCHEME_RE = re.compile(r"(?i)\b(bearer|basic|token)\s+([A-Za-z0-9._~+/=-]{8,})")
# A long random-looking string after a key-ish word: "api key 3f9a…", "secret: Zm9v…".
_KEYISH_RE = re.compile(
    r"(?i)\b((?:api[-_ ]?)?key|secret|token|password|passwd|credentials?)"
    r"(\s*(?:is|was|=|:)?\s*[\"']?)([A-Za-z0-9+/_-]{24,}={0,2})"
)
# An identifier: lowercase words joined by "_", "." or "-" (error codes, event types, states).
_PLAIN_WORD_RE = re.compile(r"[a-z]+(?:[_.-][a-z]+)*")
# Well-known credential shapes: Stripe keys and webhook secrets, SendGrid keys, GitHub tokens,
# Google OAuth access tokens, JWTs.
_SHAPE_RE = re.compile(
    r"\b(?:(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}"
    r"|whsec_[A-Za-z0-9+/=]{8,}"
    r"|SG\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|ya29\.[A-Za-z0-9._-]{8,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"
)
# One-time links: the path after /reset/ (Django's password reset, `/reset/<uidb64>/<token>/`),
# and anywhere a token of the shape Django's PasswordResetTokenGenerator makes
# (`<base36 timestamp>-<32 hex>`), so a reset link printed or logged is not a working link.
_ONE_TIME_LINK_RE = re.compile(r"(?i)(/reset/)[^\s?#\"'<>]+")
_ONE_TIME_TOKEN_RE = re.compile(r"(?<![\w-])[0-9a-z]{1,13}-[0-9a-f]{32}(?![\w-])")
# user:password@ in URLs.
_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
# Email addresses in free text (personal data: never in logs or stored error messages).
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# A cheap pre-check that every pattern above implies, so that text without any hint of a
# credential (the common case: log lines are redacted on every emit) skips the substitutions:
# a marker substring, or a secret name (or a -/_ suffix of one) right before ":" or "=".
_MARKERS = (
    "bearer",
    "basic",
    "token",
    "sk_",
    "rk_",
    "pk_",
    "whsec_",
    "sg.",
    "gh",
    "ya29.",
    "eyj",
    "@",
    "/reset/",
    "key",
    "secret",
    "passw",
    "credential",
)
_NAME_BEFORE_DELIMITER_RE = re.compile(r"([A-Za-z][\w-]*)[\"']?\s*[:=]")
_SEGMENT_RE = re.compile(r"[-_]")


def _may_hold_secret(text: str) -> bool:
    lowered = text.lower()
    if any(marker in lowered for marker in _MARKERS):
        return True
    if _ONE_TIME_TOKEN_RE.search(text):
        return True
    for name in _NAME_BEFORE_DELIMITER_RE.findall(text):
        if is_secret_name(name):
            return True
        parts = _SEGMENT_RE.split(name.lower())
        if any("_".join(parts[i:]) in SECRET_NAMES for i in range(1, len(parts))):
            return True
    return False


def is_secret_name(name: str) -> bool:
    return name.lower().replace("-", "_") in SECRET_NAMES


def _is_plain_word(value: str) -> bool:
    """An identifier, not a credential: `card_declined`, `invalid_grant`, `expired`."""
    if not _PLAIN_WORD_RE.fullmatch(value):
        return False
    return len(value) < 16 or any(sep in value for sep in "_.-")


def _looks_random(value: str) -> bool:
    """Digits, mixed case past the first letter, or base64 punctuation: a credential."""
    rest = value[1:]
    return (
        any(c.isdigit() for c in value)
        or (any(c.islower() for c in rest) and any(c.isupper() for c in rest))
        or any(c in "+/=" for c in value)
    )


def redact_value(name: str, value: str) -> str:
    """`value` as it may be shown under the field or parameter `name`."""
    if is_secret_name(name):
        if name.lower().replace("-", "_") in WORDY_NAMES and _is_plain_word(value):
            return value
        return REDACTED
    return redact_text(value)


def _pair(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    return match.group(0) if value == REDACTED else f"{name}={redact_value(name, value)}"


def _field(match: re.Match[str]) -> str:
    name = match.group(1).strip().rstrip(":").strip().strip("\"'")
    kept = redact_value(name, match.group(3))
    return f"{match.group(1)}{match.group(2)}{kept}{match.group(2)}"


def _scheme(match: re.Match[str]) -> str:
    value = match.group(2)
    if match.group(1).lower() != "basic" and not _looks_random(value):
        return match.group(0)
    return f"{match.group(1)} {REDACTED}"


def _keyish(match: re.Match[str]) -> str:
    value = match.group(3)
    if not _looks_random(value):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def redact_text(text: str) -> str:
    """`text` with every recognisable credential replaced by `[REDACTED]`."""
    if not text or not _may_hold_secret(text):
        return text
    text = _USERINFO_RE.sub(rf"\1{REDACTED}@", text)
    text = _HEADER_RE.sub(rf"\1\2{REDACTED}", text)
    text = _FIELD_RE.sub(_field, text)
    text = _PAIR_RE.sub(_pair, text)
    text = _SCHEME_RE.sub(_scheme, text)
    text = _KEYISH_RE.sub(_keyish, text)
    text = _ONE_TIME_LINK_RE.sub(rf"\1{REDACTED}/", text)
    text = _ONE_TIME_TOKEN_RE.sub(REDACTED, text)
    text = _EMAIL_RE.sub(REDACTED, text)
    return _SHAPE_RE.sub(REDACTED, text)


def redact_url(url: str) -> str:
    """`url` with user info and the values of secret-named query parameters redacted."""
    if "?" not in url and "@" not in url:
        return redact_text(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, _query_value(k, v)) for k, v in pairs], safe="[]")
    return redact_text(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def _query_value(name: str, value: str) -> str:
    return redact_value(name, value) if is_secret_name(name) else value


def redact_mapping(
    data: Mapping[str, Any], *, keep: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A copy of headers or a payload with secret-named values redacted (recursively).

    `keep`: names to leave alone in this context (e.g. "code" in an error body).
    """
    return {key: _mapped(str(key), value, keep) for key, value in data.items()}


def _mapped(key: str, value: Any, keep: frozenset[str]) -> Any:
    if not is_secret_name(key) or key.lower() in keep:
        return redact_data(value, keep=keep)
    if isinstance(value, str):
        return redact_value(key, value)
    return REDACTED


def redact_data(value: Any, *, keep: frozenset[str] = frozenset()) -> Any:
    if isinstance(value, Mapping):
        return redact_mapping(value, keep=keep)
    if isinstance(value, list | tuple):
        return [redact_data(item, keep=keep) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def scrub_exception_chain(exc: BaseException, *, depth: int = 8) -> None:
    """Redact the messages of `exc` and its causes in place.

    Library exceptions (requests, urllib3) put the full URL, query string included, in their
    message; they end up in tracebacks that any handler may print, so they are cleaned before
    they are chained to our own errors.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and depth > 0 and id(current) not in seen:
        seen.add(id(current))
        with contextlib.suppress(AttributeError, TypeError):
            current.args = tuple(
                redact_text(arg if isinstance(arg, str) else str(arg)) for arg in current.args
            )
        current = current.__cause__ or current.__context__
        depth -= 1


class RedactingFilter(logging.Filter):
    """Redacts credentials from a record's message, arguments and traceback text.

    Never drops a record. A record whose emitter built it from redacted values only may say
    so with `extra={"redacted": True}` and is passed through as is. Attach it to handlers
    (records from child loggers reach handlers, not the parent loggers' filters).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False) is True and not record.exc_info:
            return True  # built from redacted values by its emitter (e.g. the HTTP attempt line)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        for name, value in list(vars(record).items()):
            if name in _RECORD_FIELDS:
                continue
            if isinstance(value, str):
                setattr(record, name, redact_value(name, value))
        return True


_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
