"""Public entry point kept for tests: `FakeRuntime`, `isolated_state` (see
`integrations.outbound.testing`)."""

from integrations.outbound.testing import FakeRuntime, isolated_state

__all__ = ["FakeRuntime", "isolated_state"]
