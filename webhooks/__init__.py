"""Webhook ingestion: verified, durably stored, asynchronously processed, replayable."""
