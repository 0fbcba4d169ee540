"""Values a host's settings module can import instead of copying (importing nothing of Django's).

    from oauth_accounts.settings_defaults import (
        LIAISON_AUTHENTICATION_BACKENDS, LIAISON_SOCIAL_AUTH_PIPELINE, LIAISON_URL_NAMESPACE,
    )
    AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend",
                               *LIAISON_AUTHENTICATION_BACKENDS]
    SOCIAL_AUTH_PIPELINE = LIAISON_SOCIAL_AUTH_PIPELINE
    SOCIAL_AUTH_URL_NAMESPACE = LIAISON_URL_NAMESPACE

These are the settings social-auth reads itself (so they cannot have defaults in
`oauth_accounts.conf`); the system checks `liaison_oauth.E003` to `E005` refuse anything that
would break linking. The pipeline never creates or edits a user, and its last step stores the
tokens encrypted (never in social-auth's plaintext `extra_data`).
"""

LIAISON_URL_NAMESPACE = "liaison_oauth"

LIAISON_AUTHENTICATION_BACKENDS: tuple[str, ...] = (
    "oauth_accounts.backends.google.GoogleBackend",
    "oauth_accounts.backends.github.GitHubBackend",
    "oauth_accounts.backends.oidc.OIDCBackend",
)

LIAISON_SOCIAL_AUTH_PIPELINE: tuple[str, ...] = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "oauth_accounts.pipeline.require_user",
    "social_core.pipeline.social_auth.associate_user",
    "oauth_accounts.pipeline.store_tokens",
)
