"""A faithful mock of the AINative Chat Completions API (Starlette), its CLI and pytest plugin.

Public API v1: the names in ``__all__`` (locked by ``tests/mockserver/test_public_api.py``).
Everything else is importable from its module (``mockserver.state.MockState``,
``mockserver.server.ServerThread``...) and may change between releases.

Example:
    >>> from mockserver import InProcessMock
    >>> with InProcessMock() as mock:
    ...     mock.set_key(mock.api_key, credits=0)
    ...     mock.httpx_client().post("/v1/chat/completions", headers=mock.headers,
    ...                              json={"messages": [{"role": "user", "content": "Hi"}]}).status_code
    402
"""

import importlib
import warnings
from typing import Any

from mockserver.app import create_app
from mockserver.chat import MAGIC_KEYS, MAGIC_MODELS
from mockserver.config import ConfigError, MockConfig, load_config
from mockserver.faults import Fault, FaultError
from mockserver.netguard import LiveCallBlockedError
from mockserver.testing import InProcessMock, ServedMock, UnexpectedRequestsError, UnusedMockError

__all__ = [
    "MAGIC_KEYS",
    "MAGIC_MODELS",
    "ConfigError",
    "Fault",
    "FaultError",
    "InProcessMock",
    "LiveCallBlockedError",
    "MockConfig",
    "ServedMock",
    "UnexpectedRequestsError",
    "UnusedMockError",
    "create_app",
    "load_config",
]

_MOVED = {
    "AINativeMock": "mockserver.app",
    "DEFAULT_MODELS": "mockserver.models",
    "JournalEntry": "mockserver.journal",
    "MockController": "mockserver.testing",
    "MockState": "mockserver.state",
    "ModelInfo": "mockserver.models",
    "ReplyRule": "mockserver.config",
    "ServerThread": "mockserver.server",
    "parse_fault": "mockserver.faults",
}
"""Names the package exported before API v1: still reachable here, with a DeprecationWarning, for one release."""


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        module = _MOVED[name]
        warnings.warn(
            f"mockserver.{name} is not part of the public API; import it from {module}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")


__test__ = {
    "MAGIC_KEYS": """
        >>> MAGIC_KEYS["ak_test_rate_limited"].status
        429
        >>> with InProcessMock(api_key="ak_test_insufficient_credits") as mock:
        ...     mock.httpx_client().post("/v1/chat/completions", headers=mock.headers,
        ...                              json={"messages": [{"role": "user", "content": "Hi"}]}).status_code
        402
    """,
    "MAGIC_MODELS": """
        >>> sorted(MAGIC_MODELS)
        ['mock-plan-gated', 'mock-unavailable']
    """,
}
"""Examples of the two public constants (doctest does not collect a constant's docstring; run by doctest)."""
