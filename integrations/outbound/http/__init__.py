"""Public entry point kept for host projects: `integrations.outbound.http.ServiceClient`.

The client lives in `integrations.outbound.client`; this name is the one the README documents.
"""

from integrations.outbound.client import ServiceClient

__all__ = ["ServiceClient"]
