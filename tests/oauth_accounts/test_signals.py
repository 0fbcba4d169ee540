"""The account signals: sent where the state changes (connect and reconnect through the real
flow, refresh rejected, disconnect by the user, revoke by staff), with their documented kwargs,
inside the transaction that makes the change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from oauth_accounts.exceptions import ReconnectRequired
from oauth_accounts.models import ConnectedAccount
from oauth_accounts.services import (
    oauth_access_token_get,
    oauth_account_disconnect,
    oauth_account_revoke,
)
from oauth_accounts.signals import (
    oauth_account_connected,
    oauth_account_disconnected,
    oauth_account_needs_reconnect,
)
from tests.oauth_accounts.conftest import GOOGLE_REVOKE_URL, GOOGLE_TOKEN_URL
from tests.oauth_accounts.factories import make_account
from tests.oauth_accounts.test_flow import GoogleMock, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    got: list[tuple[str, dict[str, Any]]] = []
    receivers = []
    for name, signal in (
        ("connected", oauth_account_connected),
        ("needs_reconnect", oauth_account_needs_reconnect),
        ("disconnected", oauth_account_disconnected),
    ):

        def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal")
            got.append((_name, {"sender": sender, **kwargs}))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    yield got
    for signal, receiver in receivers:
        signal.disconnect(receiver)


def complete_google(client: Any) -> None:
    query = start(client, "google")
    response = client.get("/oauth/complete/google/", {"state": query["state"], "code": "c1"})
    assert response.status_code == 302, response.content[:500]


def test_connect_then_reconnect_send_connected_with_created(
    logged_in, credentials, mocked, user, sent
):
    GoogleMock(mocked, sub="google-sub-1")
    complete_google(logged_in)
    account = ConnectedAccount.objects.get(user=user, provider="google")
    account.status = ConnectedAccount.Status.NEEDS_RECONNECT
    account.save()
    complete_google(logged_in)

    assert [(name, kw["sender"], kw["account"].pk, kw["created"]) for name, kw in sent] == [
        ("connected", ConnectedAccount, account.pk, True),
        ("connected", ConnectedAccount, account.pk, False),
    ]
    assert sent[1][1]["account"].status == "active"


def test_a_raising_connected_receiver_rolls_the_connection_back(
    logged_in, credentials, mocked, user
):
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver broke")

    GoogleMock(mocked, sub="google-sub-1")
    oauth_account_connected.connect(broken, weak=False)
    try:
        with pytest.raises(RuntimeError, match="receiver broke"):
            complete_google(logged_in)
    finally:
        oauth_account_connected.disconnect(broken)
    assert not ConnectedAccount.objects.filter(user=user).exists()


def test_a_rejected_refresh_sends_needs_reconnect_with_the_reason(credentials, mocked, sent):
    account = make_account(provider="google", expires_in=timedelta(seconds=-1))
    mocked.post(GOOGLE_TOKEN_URL, status=400, json={"error": "invalid_grant"})

    with pytest.raises(ReconnectRequired):
        oauth_access_token_get(account=account)
    with pytest.raises(ReconnectRequired):
        oauth_access_token_get(account=account)  # already needs reconnecting: not sent again

    assert [name for name, _ in sent] == ["needs_reconnect"]
    kwargs = sent[0][1]
    assert kwargs["sender"] is ConnectedAccount
    assert kwargs["account"].pk == account.pk
    assert kwargs["account"].status == "needs_reconnect"
    assert "invalid_grant" in kwargs["reason"]


def test_a_receiver_writes_commit_with_the_needs_reconnect_status(credentials, mocked):
    account = make_account(provider="google", expires_in=timedelta(seconds=-1))
    mocked.post(GOOGLE_TOKEN_URL, status=400, json={"error": "invalid_grant"})

    def note(sender: Any, account: ConnectedAccount, **kwargs: Any) -> None:
        # Inside the transaction: the row is saved with the new status already.
        stored = ConnectedAccount.objects.get(pk=account.pk)
        ConnectedAccount.objects.filter(pk=account.pk).update(display_name=f"seen {stored.status}")

    oauth_account_needs_reconnect.connect(note, weak=False)
    try:
        with pytest.raises(ReconnectRequired):
            oauth_access_token_get(account=account)
    finally:
        oauth_account_needs_reconnect.disconnect(note)
    account.refresh_from_db()
    assert account.display_name == "seen needs_reconnect"


def test_disconnect_sends_disconnected_with_plain_values(credentials, mocked, sent):
    account = make_account(provider="google")
    mocked.post(GOOGLE_REVOKE_URL, status=200)
    expected = {
        "sender": ConnectedAccount,
        "provider": "google",
        "uid": account.uid,
        "user_id": account.user_id,
        "revoked": True,
    }

    oauth_account_disconnect(account=account)

    assert sent == [("disconnected", expected)]
    assert not ConnectedAccount.objects.filter(pk=account.pk).exists()


def test_staff_revoke_sends_disconnected_too(credentials, mocked, sent):
    account = make_account(provider="google")
    mocked.post(GOOGLE_REVOKE_URL, status=503)

    oauth_account_revoke(account=account)

    assert [(name, kw["uid"], kw["revoked"]) for name, kw in sent] == [
        ("disconnected", account.uid, False)
    ]
    account.refresh_from_db()
    assert account.status == "revoked"
