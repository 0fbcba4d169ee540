"""Refresh relative to the token's lifetime, single-flight without a database lock held across
the provider call (issue 12).

With 300-second access tokens (Keycloak's default) and the default 300-second margin, every
`get_access_token()` (now `oauth_access_token_get`) used to refresh; and the refresh held
the account's row lock
(`SELECT … FOR UPDATE`, SQLite's database write lock) across the HTTP call, so every writer
waited for the provider. Concurrency tests count grants at a real local token endpoint.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.db import connection, connections
from django.utils import timezone

from oauth_accounts.client_credentials import client_credentials_token
from oauth_accounts.exceptions import TokenRefreshFailed
from oauth_accounts.models import ConnectedAccount
from oauth_accounts.selectors import oauth_token_refresh_threshold
from oauth_accounts.services import oauth_access_token_get, oauth_token_refresh
from tests.oauth_accounts.conftest import GITHUB_TOKEN_URL, form_of
from tests.oauth_accounts.factories import fake_token, make_account, make_user
from tests.oauth_accounts.token_server import TokenServer, running_token_server

KEYCLOAK_LIFETIME = 300


def keycloak_account(**fields: Any) -> ConnectedAccount:
    """An OIDC account whose 300-second access token has 10 seconds left."""
    now = timezone.now()
    return make_account(
        provider="oidc",
        expires_in=timedelta(seconds=10),
        last_refreshed_at=now - timedelta(seconds=KEYCLOAK_LIFETIME - 10),
        **fields,
    )


def use_local_provider(settings: Any, server: TokenServer) -> None:
    settings.OAUTH_OIDC_ISSUER = server.issuer


# --- fresh relative to the lifetime ----------------------------------------------------------


@pytest.mark.django_db
def test_threshold_is_the_margin_or_half_the_lifetime_whichever_is_shorter(settings):
    now = timezone.now()
    short = make_account(expires_in=timedelta(seconds=300), last_refreshed_at=now)
    long = make_account(expires_in=timedelta(hours=1), last_refreshed_at=now)
    assert round(oauth_token_refresh_threshold(short).total_seconds()) == 150
    assert oauth_token_refresh_threshold(long) == timedelta(seconds=300)
    settings.OAUTH_REFRESH_MARGIN_SECONDS = 60
    assert oauth_token_refresh_threshold(short) == timedelta(seconds=60)


@pytest.mark.django_db
def test_hundred_sequential_reads_of_300_second_tokens_cause_one_refresh_grant(credentials, mocked):
    account = make_account(
        provider="github",
        expires_in=timedelta(seconds=10),
        last_refreshed_at=timezone.now() - timedelta(seconds=KEYCLOAK_LIFETIME - 10),
    )
    grants: list[dict[str, str]] = []

    def token(request: Any) -> tuple[int, dict[str, str], str]:
        grants.append(form_of(request.body))
        body = {
            "access_token": fake_token("ghu"),
            "refresh_token": fake_token("ghr"),
            "expires_in": KEYCLOAK_LIFETIME,
            "token_type": "bearer",
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.add_callback(responses.POST, GITHUB_TOKEN_URL, callback=token)

    by_id = [oauth_access_token_get(account=account.pk) for _ in range(100)]
    # Callers holding the stale object re-read it and find the new token fresh.
    by_stale_object = [oauth_access_token_get(account=account) for _ in range(100)]

    assert len(grants) == 1
    assert set(by_id) == set(by_stale_object) == {ConnectedAccount.objects.get().access_token}


@pytest.mark.django_db(transaction=True)
def test_hundred_sequential_reads_against_a_local_provider_cause_one_refresh_grant(
    credentials, settings
):
    with running_token_server(expires_in=KEYCLOAK_LIFETIME) as server:
        use_local_provider(settings, server)
        account = keycloak_account()
        tokens = {oauth_access_token_get(account=account.pk) for _ in range(100)}
        assert server.refresh_grants == 1
    assert tokens == {ConnectedAccount.objects.get(pk=account.pk).access_token}


def _fifty_concurrent_reads(account_id: int) -> tuple[list[str], list[BaseException]]:
    barrier = threading.Barrier(50)
    results: list[str] = []
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(oauth_access_token_get(account=account_id))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=caller) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_reads_cause_one_refresh_grant_at_a_local_provider(
    credentials, settings, concurrent_database
):
    """On SQLite (embedded) and, in the services run, on PostgreSQL."""
    with running_token_server(expires_in=KEYCLOAK_LIFETIME, delay=0.3) as server:
        use_local_provider(settings, server)
        account = keycloak_account()
        old_refresh = account.refresh_token
        results, errors = _fifty_concurrent_reads(account.pk)
        assert not errors, errors[:3]
        assert server.refresh_grants == 1
        assert server.grants[0]["refresh_token"] == old_refresh
        # client_secret_basic, as discovery advertises: no secret in the body.
        assert server.grants[0]["_authorization"].startswith("Basic ")
        assert "client_secret" not in server.grants[0]
    account.refresh_from_db()
    assert results == [account.access_token] * 50
    assert account.refresh_lease_until is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_reads_cause_one_refresh_grant_on_postgresql(
    credentials, settings, concurrent_database
):
    assert connection.vendor == "postgresql"
    test_fifty_concurrent_reads_cause_one_refresh_grant_at_a_local_provider(
        credentials, settings, concurrent_database
    )


# --- no database lock across the provider call -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_other_writers_do_not_wait_while_a_refresh_is_in_flight(
    credentials, settings, concurrent_database
):
    """On SQLite a transaction open across the call holds the database write lock: every
    writer (webhook ingestion included) waited for the provider."""
    hold = threading.Event()
    with running_token_server(expires_in=KEYCLOAK_LIFETIME, hold=hold) as server:
        use_local_provider(settings, server)
        account = keycloak_account(display_name="Before")
        with ThreadPoolExecutor(max_workers=1) as pool:

            def refresh() -> str:
                try:
                    return oauth_access_token_get(account=account.pk)
                finally:
                    connections.close_all()

            future = pool.submit(refresh)
            assert server.received.wait(timeout=10), "the refresh never reached the provider"

            started = time.monotonic()
            make_user("writer-during-refresh")  # another table
            ConnectedAccount.objects.filter(pk=account.pk).update(display_name="During")
            elapsed = time.monotonic() - started

            assert not future.done()  # the provider call is still in flight
            hold.set()
            token = future.result(timeout=30)
    assert elapsed < 1.0, f"writers waited {elapsed:.2f}s for the provider call"
    account.refresh_from_db()
    assert account.access_token == token
    assert account.display_name == "During"  # the compare-and-set kept the other write
    assert server.refresh_grants == 1


@pytest.mark.django_db(transaction=True)
def test_client_credentials_fetch_holds_no_lock_and_is_single_flight(settings, concurrent_database):
    settings.INTEGRATIONS_SERVICES = {"oidc": {"retries": 0}}
    with running_token_server(expires_in=KEYCLOAK_LIFETIME, delay=0.5) as server:
        kwargs = {
            "service": "oidc",
            "token_url": f"{server.issuer}/token",
            "client_id": "svc",
            "client_secret": "fake-svc-secret",
        }

        def fetch() -> str:
            try:
                return client_credentials_token(**kwargs)
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=10) as pool:
            futures = [pool.submit(fetch) for _ in range(10)]
            assert server.received.wait(timeout=10)
            started = time.monotonic()
            make_user("writer-during-fetch")
            elapsed = time.monotonic() - started
            results = [future.result(timeout=30) for future in futures]
        again = [client_credentials_token(**kwargs) for _ in range(20)]
    assert elapsed < 0.4, f"writers waited {elapsed:.2f}s for the token request"
    assert len(server.grants) == 1
    assert set(results) == set(again)
    assert len(set(results)) == 1


# --- the lease --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_valid_token_is_returned_when_another_callers_refresh_takes_too_long(
    credentials, mocked, settings
):
    settings.OAUTH_REFRESH_WAIT_SECONDS = 0.1
    account = keycloak_account()
    ConnectedAccount.objects.filter(pk=account.pk).update(
        refresh_lease_until=timezone.now() + timedelta(minutes=1), refresh_lease_token="other"
    )
    assert oauth_access_token_get(account=account.pk) == account.access_token
    assert not mocked.calls


@pytest.mark.django_db
def test_an_expired_token_whose_refresh_is_stuck_elsewhere_raises_refresh_failed(
    credentials, mocked, settings
):
    settings.OAUTH_REFRESH_WAIT_SECONDS = 0.1
    account = make_account(provider="oidc", expires_in=timedelta(seconds=-5))
    ConnectedAccount.objects.filter(pk=account.pk).update(
        refresh_lease_until=timezone.now() + timedelta(minutes=1), refresh_lease_token="other"
    )
    with pytest.raises(TokenRefreshFailed) as raised:
        oauth_access_token_get(account=account.pk)
    assert raised.value.code == "refresh_in_progress"
    assert not mocked.calls


@pytest.mark.django_db
def test_an_expired_lease_is_taken_over(credentials, idp):
    account = make_account(provider="oidc", uid=idp.sub, expires_in=timedelta(seconds=-5))
    ConnectedAccount.objects.filter(pk=account.pk).update(
        refresh_lease_until=timezone.now() - timedelta(seconds=1), refresh_lease_token="crashed"
    )
    token = oauth_access_token_get(account=account.pk)
    account.refresh_from_db()
    assert token == account.access_token
    assert (account.refresh_lease_until, account.refresh_lease_token) == (None, "")
    assert len(idp.token_requests) == 1


@pytest.mark.django_db
def test_a_result_that_outlived_its_lease_is_discarded(credentials, mocked):
    account = make_account(provider="github", expires_in=timedelta(seconds=-5))
    before = account.access_token

    def token(request: Any) -> tuple[int, dict[str, str], str]:
        # While this call is in flight the lease expires and another caller takes over.
        ConnectedAccount.objects.filter(pk=account.pk).update(refresh_lease_token="other")
        body = {"access_token": fake_token("ghu"), "expires_in": 28800}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.add_callback(responses.POST, GITHUB_TOKEN_URL, callback=token)
    with pytest.raises(TokenRefreshFailed) as raised:
        oauth_token_refresh(account_id=account.pk)
    assert raised.value.code == "lease_lost"
    account.refresh_from_db()
    assert account.access_token == before
    assert account.refresh_lease_token == "other"  # the other caller's lease is untouched


@pytest.mark.django_db
def test_batch_refresher_skips_an_account_another_caller_is_refreshing(credentials, mocked):
    account = make_account(provider="github", expires_in=timedelta(seconds=30))
    ConnectedAccount.objects.filter(pk=account.pk).update(
        refresh_lease_until=timezone.now() + timedelta(minutes=1), refresh_lease_token="other"
    )
    started = time.monotonic()
    refreshed = oauth_token_refresh(account_id=account.pk, wait=False)
    assert time.monotonic() - started < 0.5
    assert refreshed.access_token == account.access_token
    assert not mocked.calls
