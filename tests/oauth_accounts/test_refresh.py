"""Refreshing tokens: ahead of expiry, single-flight, rotation, invalid_grant, backoff, batch."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import responses
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from oauth_accounts.exceptions import ReconnectRequired, TokenRefreshFailed
from oauth_accounts.models import ConnectedAccount
from oauth_accounts.services import oauth_access_token_get, oauth_token_refresh
from oauth_accounts.signals import oauth_account_needs_reconnect
from oauth_accounts.tasks import oauth_tokens_refresh_due_task
from tests.oauth_accounts.conftest import GITHUB_TOKEN_URL, GOOGLE_TOKEN_URL, form_of
from tests.oauth_accounts.factories import fake_token, make_account

pytestmark = pytest.mark.django_db


def token_json(**body: Any) -> tuple[int, dict[str, str], str]:
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


@pytest.fixture
def reconnect_signals() -> Any:
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    oauth_account_needs_reconnect.connect(receiver, dispatch_uid="test-needs-reconnect")
    yield received
    oauth_account_needs_reconnect.disconnect(dispatch_uid="test-needs-reconnect")


def test_fresh_token_is_returned_without_calling_the_provider(credentials, mocked):
    account = make_account(provider="google", expires_in=timedelta(hours=1))
    assert oauth_access_token_get(account=account) == account.access_token
    assert not mocked.calls


def test_token_inside_the_margin_is_refreshed_first_and_the_rotated_token_saved(credentials, idp):
    account = make_account(provider="oidc", uid=idp.sub, expires_in=timedelta(minutes=4))
    old_access, old_refresh = account.access_token, account.refresh_token

    token = oauth_access_token_get(account=account.pk)

    sent = idp.token_requests[0]
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == old_refresh
    account.refresh_from_db()
    assert token == account.access_token != old_access
    assert account.refresh_token not in (None, old_refresh)
    assert account.expires_at > timezone.now() + timedelta(minutes=50)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM liaison_oauth_connectedaccount WHERE id=%s",
            [account.pk],
        )
        raw = cursor.fetchone()
    assert token not in raw[0]
    assert account.refresh_token not in raw[1]


def test_margin_setting_decides_when_to_refresh(credentials, idp, settings):
    settings.OAUTH_REFRESH_MARGIN_SECONDS = 60
    account = make_account(provider="oidc", uid=idp.sub, expires_in=timedelta(minutes=4))
    assert oauth_access_token_get(account=account) == account.access_token
    settings.OAUTH_REFRESH_MARGIN_SECONDS = 600
    assert oauth_access_token_get(account=account) != account.access_token
    assert len(idp.token_requests) == 1


def test_refresh_whose_id_token_names_another_subject_is_refused(credentials, idp):
    account = make_account(provider="oidc", uid="someone-else", expires_in=timedelta(seconds=-1))
    with pytest.raises(TokenRefreshFailed):
        oauth_access_token_get(account=account)
    account.refresh_from_db()
    assert account.failure_count == 1


def test_google_refresh_keeps_the_refresh_token_when_none_is_returned(credentials, mocked):
    account = make_account(provider="google", expires_in=timedelta(seconds=-5))
    refresh = account.refresh_token
    new_access = fake_token("new")
    requests_seen: list[dict[str, str]] = []

    def token(request: Any) -> Any:
        requests_seen.append(form_of(request.body))
        return token_json(access_token=new_access, expires_in=3599, token_type="Bearer")

    mocked.add_callback(responses.POST, GOOGLE_TOKEN_URL, callback=token)
    assert oauth_access_token_get(account=account) == new_access
    assert requests_seen[0]["client_id"] == credentials.google[0]
    account.refresh_from_db()
    assert account.refresh_token == refresh


@pytest.mark.parametrize(
    ("provider", "url", "status", "body"),
    [
        ("google", GOOGLE_TOKEN_URL, 400, {"error": "invalid_grant"}),
        # GitHub answers 200 with an error body.
        ("github", GITHUB_TOKEN_URL, 200, {"error": "bad_refresh_token"}),
    ],
)
def test_rejected_refresh_marks_needs_reconnect_and_sends_a_signal(
    credentials, mocked, reconnect_signals, provider, url, status, body
):
    account = make_account(provider=provider, expires_in=timedelta(seconds=-1))
    mocked.post(url, status=status, json=body)

    with pytest.raises(ReconnectRequired):
        oauth_access_token_get(account=account)

    account.refresh_from_db()
    assert account.status == "needs_reconnect"
    assert body["error"] in account.last_error
    assert [s["account"].pk for s in reconnect_signals] == [account.pk]
    with pytest.raises(ReconnectRequired):
        oauth_access_token_get(account=account)
    assert len(mocked.calls) == 1


def test_transient_failures_are_retried_by_the_resilient_client(credentials, mocked):
    account = make_account(provider="github", expires_in=timedelta(seconds=-1))
    new_access = fake_token("ghu")
    mocked.post(GITHUB_TOKEN_URL, status=502)
    mocked.post(GITHUB_TOKEN_URL, json={"access_token": new_access, "expires_in": 28800})
    assert oauth_access_token_get(account=account) == new_access
    assert len(mocked.calls) == 2


def test_transient_failure_backs_off_and_keeps_a_still_valid_token(credentials, mocked, settings):
    settings.INTEGRATIONS_SERVICES = {"github": {"retries": 0, "breaker_fail_max": 50}}
    account = make_account(provider="github", expires_in=timedelta(minutes=2))
    mocked.post(GITHUB_TOKEN_URL, status=503)

    assert oauth_access_token_get(account=account) == account.access_token

    account.refresh_from_db()
    assert account.status == "active"
    assert account.failure_count == 1
    assert "ServerError" in account.last_error
    assert account.next_refresh_attempt_at > timezone.now()


def test_expired_token_with_failing_refresh_raises_a_retryable_error(credentials, mocked, settings):
    settings.INTEGRATIONS_SERVICES = {"github": {"retries": 0, "breaker_fail_max": 50}}
    account = make_account(provider="github", expires_in=timedelta(seconds=-1))
    mocked.post(GITHUB_TOKEN_URL, status=503)
    with pytest.raises(TokenRefreshFailed):
        oauth_access_token_get(account=account)


def test_repeated_failures_mark_needs_reconnect_with_the_last_error(
    credentials, mocked, settings, reconnect_signals
):
    settings.INTEGRATIONS_SERVICES = {"github": {"retries": 0, "breaker_fail_max": 50}}
    settings.OAUTH_REFRESH_MAX_FAILURES = 3
    account = make_account(provider="github", expires_in=timedelta(seconds=-1))
    mocked.post(GITHUB_TOKEN_URL, status=500)
    for _ in range(2):
        with pytest.raises(TokenRefreshFailed):
            oauth_token_refresh(account_id=account.pk)
    with pytest.raises(ReconnectRequired):
        oauth_token_refresh(account_id=account.pk)
    account.refresh_from_db()
    assert account.status == "needs_reconnect"
    assert "3 failed refreshes" in account.last_error
    assert len(reconnect_signals) == 1


def test_expired_account_without_refresh_token_needs_reconnect(credentials, mocked):
    account = make_account(provider="github", refresh_token=None, expires_in=timedelta(seconds=-1))
    with pytest.raises(ReconnectRequired):
        oauth_access_token_get(account=account)
    account.refresh_from_db()
    assert account.status == "needs_reconnect"
    assert not mocked.calls


# --- batch: command, task, beat ----------------------------------------------------------------


def test_refresh_command_refreshes_due_and_idle_tokens_and_skips_the_rest(
    credentials, mocked, settings
):
    now = timezone.now()
    due = make_account(provider="google", expires_in=timedelta(minutes=2))
    later = make_account(provider="google", expires_in=timedelta(hours=2))
    idle = make_account(
        provider="google",
        expires_in=timedelta(hours=2),
        last_refreshed_at=now - timedelta(days=40),
    )
    backing_off = make_account(
        provider="google",
        expires_in=timedelta(minutes=1),
        next_refresh_attempt_at=now + timedelta(minutes=10),
    )
    broken = make_account(
        provider="google", expires_in=timedelta(minutes=1), status="needs_reconnect"
    )
    sent: list[str] = []

    def token(request: Any) -> Any:
        sent.append(form_of(request.body)["refresh_token"])
        return token_json(access_token=fake_token("new"), expires_in=3599)

    mocked.add_callback(responses.POST, GOOGLE_TOKEN_URL, callback=token)
    out = StringIO()
    call_command("refresh_oauth_tokens", stdout=out)

    assert sorted(sent) == sorted([due.refresh_token, idle.refresh_token])
    assert "checked 2, refreshed 2, failed 0, needs reconnect 0" in out.getvalue()
    for account in (later, backing_off, broken):
        before = account.access_token
        account.refresh_from_db()
        assert account.access_token == before

    call_command("refresh_oauth_tokens", "--within", "180", stdout=out)
    assert later.refresh_token in sent


def test_refresh_command_reports_failures_and_backs_off(credentials, mocked, settings):
    settings.INTEGRATIONS_SERVICES = {"google": {"retries": 0, "breaker_fail_max": 50}}
    account = make_account(provider="google", expires_in=timedelta(minutes=1))
    mocked.post(GOOGLE_TOKEN_URL, status=500)
    out, err = StringIO(), StringIO()
    call_command("refresh_oauth_tokens", stdout=out, stderr=err)
    assert "failed 1" in out.getvalue()
    assert f"account {account.pk}" in err.getvalue()
    # Backing off: an immediate second run does not call the provider again.
    call_command("refresh_oauth_tokens", stdout=out, stderr=err)
    assert len(mocked.calls) == 1


def test_celery_task_runs_the_batch_and_beat_schedules_it(credentials, idp):
    account = make_account(provider="oidc", uid=idp.sub, expires_in=timedelta(minutes=1))
    result = oauth_tokens_refresh_due_task.delay().get()
    assert result["refreshed"] == 1
    account.refresh_from_db()
    assert account.last_error == ""
    assert len(idp.token_requests) == 1
    entry = django_settings.CELERY_BEAT_SCHEDULE["oauth-accounts-refresh-due-tokens"]
    assert entry["task"] == oauth_tokens_refresh_due_task.name


# --- single flight -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_callers_cause_exactly_one_refresh_request(credentials, mocked):
    account = make_account(provider="github", expires_in=timedelta(seconds=30))
    old_refresh = account.refresh_token
    new_access, rotated = fake_token("ghu"), fake_token("ghr")
    calls: list[dict[str, str]] = []
    calls_lock = threading.Lock()

    def token(request: Any) -> Any:
        with calls_lock:
            calls.append(form_of(request.body))
        time.sleep(0.3)  # keep the refresh in flight while the other callers arrive
        return token_json(
            access_token=new_access,
            refresh_token=rotated,
            expires_in=28800,
            refresh_token_expires_in=15811200,
            token_type="bearer",
        )

    mocked.add_callback(responses.POST, GITHUB_TOKEN_URL, callback=token)
    barrier = threading.Barrier(50)
    results: list[str] = []
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(oauth_access_token_get(account=account.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert len(calls) == 1
    assert calls[0]["refresh_token"] == old_refresh
    assert results == [new_access] * 50
    account.refresh_from_db()
    assert (account.access_token, account.refresh_token) == (new_access, rotated)


def test_sequential_callers_after_a_refresh_reuse_the_new_token(credentials, idp):
    account = make_account(provider="oidc", uid=idp.sub, expires_in=timedelta(seconds=10))
    first = oauth_access_token_get(account=account.pk)
    assert [oauth_access_token_get(account=account.pk) for _ in range(5)] == [first] * 5
    # A caller holding the stale object re-checks under the lock and does not refresh again.
    assert oauth_access_token_get(account=account) == first
    assert len(idp.token_requests) == 1
    assert ConnectedAccount.objects.get(pk=account.pk).last_refreshed_at is not None
