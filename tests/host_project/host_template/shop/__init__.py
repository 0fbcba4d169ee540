"""A host project's own app: it reacts to Liaison's webhooks and signals (scenario test)."""
