"""The foundation: encrypted fields, resilient outbound HTTP, payments and email services.

Imports neither `webhooks` nor `oauth_accounts`: they depend on this app, never the reverse.
"""
