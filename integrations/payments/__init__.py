"""Stripe payments: services on the official SDK, and Stripe objects synced from webhooks."""
