"""Resilient outbound HTTP: `ServiceClient(service).request(...)`. See `client.py`."""

from integrations.outbound.http.client import ServiceClient

__all__ = ["ServiceClient"]
