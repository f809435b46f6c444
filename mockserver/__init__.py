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
    "MockConfig": """
        >>> config = MockConfig(credits=100, rpm=5)
        >>> config.credits, config.rpm, config.replace(rpm=10).rpm
        (100, 5, 10)
    """,
    "load_config": """
        >>> load_config({"seed": "7"}, env={"AINATIVE_MOCK_CREDITS": "50"}).seed, load_config(env={}).credits
        (7, 1000000)
        >>> load_config(env={"AINATIVE_MOCK_CREDITS": "50"}).credits
        50
    """,
    "ConfigError": """
        >>> try:
        ...     load_config({"credits": -1}, env={})
        ... except ConfigError as error:
        ...     print(error)
        credits: must be >= 0
    """,
    "Fault": """
        >>> with InProcessMock() as mock:
        ...     fault = mock.queue_fault("disconnect", after_chunks=3)
        ...     fault.name, fault.after_chunks, fault.stream_only
        ('disconnect', 3, True)
    """,
    "FaultError": """
        >>> with InProcessMock() as mock:
        ...     try:
        ...         mock.queue_fault("explode")
        ...     except FaultError as error:
        ...         print(type(error).__name__, "explode" in str(error))
        FaultError True
    """,
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
"""Examples of the public names defined in modules whose docstrings carry none yet (run by doctest)."""
