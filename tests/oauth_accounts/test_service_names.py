"""Service names follow `<entity>_<action>`; the one documented old name still works, warning."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oauth_accounts import services
from oauth_accounts.backends import RevokeUnsupported as RegistryRevokeUnsupported
from oauth_accounts.exceptions import OAuthError, RevokeUnsupported
from oauth_accounts.tokens import oauth_scopes_parse
from tests.oauth_accounts.factories import make_account


@pytest.mark.django_db
def test_get_access_token_is_a_deprecated_alias_of_oauth_access_token_get(credentials, mocked):
    account = make_account(provider="google", expires_in=timedelta(hours=1))
    with pytest.warns(DeprecationWarning, match="oauth_access_token_get"):
        token = services.get_access_token(account)
    assert token == services.oauth_access_token_get(account=account) == account.access_token
    assert not mocked.calls


def test_revoke_unsupported_is_an_oauth_error_with_one_definition():
    assert issubclass(RevokeUnsupported, OAuthError)
    assert RegistryRevokeUnsupported is RevokeUnsupported
    assert str(RevokeUnsupported("no revocation_endpoint")) == "no revocation_endpoint"


def test_scopes_are_parsed_from_spaces_commas_and_lists():
    assert oauth_scopes_parse("openid email  profile") == ["openid", "email", "profile"]
    assert oauth_scopes_parse("repo,read:user") == ["repo", "read:user"]
    assert oauth_scopes_parse(["a", "", "b"]) == ["a", "b"]
    assert oauth_scopes_parse(None) == []


def test_services_expose_only_entity_action_names():
    public = [name for name in services.__all__ if name[0].islower()]
    assert sorted(public) == [
        "get_access_token",  # the documented deprecated alias
        "oauth_access_token_get",
        "oauth_account_connect",
        "oauth_account_disconnect",
        "oauth_account_revoke",
        "oauth_token_refresh",
        "oauth_token_revoke",
        "oauth_tokens_refresh_due",
    ]
