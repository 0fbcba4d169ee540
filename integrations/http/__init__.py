"""Resilient outbound HTTP: `ServiceClient(service).request(...)`. See `client.py`."""

from integrations.http.client import ServiceClient

__all__ = ["ServiceClient"]
