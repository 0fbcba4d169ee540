"""Connected provider accounts and their encrypted tokens.

social-auth's `UserSocialAuth` keeps who is linked to whom (provider + uid, unique); this app
keeps everything secret or operational next to it in `ConnectedAccount`: the access and
refresh tokens (encrypted at rest), expiry, granted scopes, status and refresh bookkeeping.
`UserSocialAuth.extra_data` never holds a token (see `oauth_accounts.pipeline` and the
`pre_save` guard in `oauth_accounts.signals`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from integrations.core.fields import EncryptedTextField

# The lease token of a row nobody is refreshing (a lease id, not a credential).
NO_LEASE = ""  # nosec B105


class ConnectedAccount(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        REVOKED = "revoked", "Revoked"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connected_accounts"
    )
    social_auth = models.OneToOneField(
        "social_django.UserSocialAuth",
        on_delete=models.CASCADE,
        related_name="connected_account",
    )
    provider = models.CharField(max_length=32, db_index=True)
    uid = models.CharField(max_length=255)
    display_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    scopes = models.JSONField(default=list, blank=True)

    access_token = EncryptedTextField(null=True, blank=True)
    refresh_token = EncryptedTextField(null=True, blank=True)
    token_type = models.CharField(max_length=32, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    connected_at = models.DateTimeField(default=timezone.now)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failure_count = models.PositiveIntegerField(default=0)
    next_refresh_attempt_at = models.DateTimeField(null=True, blank=True)
    # Single-flight refresh: a caller claims the refresh with one conditional UPDATE (no row
    # lock held across the provider call) and saves the new tokens only while the lease is
    # still its own (`oauth_accounts.services.refresh.oauth_token_refresh`).
    refresh_lease_until = models.DateTimeField(null=True, blank=True)
    refresh_lease_token = models.CharField(max_length=32, blank=True, default=NO_LEASE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "display_name", "id"]
        # Revoking deletes a user's tokens and revokes them at the provider.
        permissions = [("revoke_connectedaccount", "Can revoke connected accounts")]
        constraints = [
            models.UniqueConstraint(fields=["provider", "uid"], name="oauth_account_provider_uid")
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="oauth_account_due")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.display_name or self.uid}"

    @property
    def has_access_token(self) -> bool:
        return bool(self.access_token)

    @property
    def has_refresh_token(self) -> bool:
        return bool(self.refresh_token)


class ClientCredentialsToken(models.Model):
    """A cached client-credentials access token for one (token URL, client id, scope)."""

    cache_key = models.CharField(max_length=64, unique=True)
    service = models.CharField(max_length=64)
    token_url = models.URLField(max_length=500)
    client_id = models.CharField(max_length=255)
    scope = models.CharField(max_length=500, blank=True)
    access_token = EncryptedTextField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    # Same lease as ConnectedAccount: one fetch at a time, no lock held across the call.
    fetch_lease_until = models.DateTimeField(null=True, blank=True)
    fetch_lease_token = models.CharField(max_length=32, blank=True, default=NO_LEASE)

    class Meta:
        ordering = ["service", "client_id"]

    def __str__(self) -> str:
        return f"{self.service}:{self.client_id}"
