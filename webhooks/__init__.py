"""Webhook ingestion: verified, durably stored, asynchronously processed, replayable."""

from integrations import __version__

__all__ = ["__version__"]
