"""A faithful mock of the AINative Chat Completions API (Starlette), its CLI and pytest plugin.

Example:
    >>> from mockserver import InProcessMock
    >>> with InProcessMock() as mock:
    ...     mock.set_credits(0)
    ...     mock.httpx_client().post("/v1/chat/completions", headers=mock.headers,
    ...                              json={"messages": [{"role": "user", "content": "Hi"}]}).status_code
    402
"""

from mockserver.app import AINativeMock, create_app
from mockserver.chat import MAGIC_KEYS, MAGIC_MODELS
from mockserver.config import ConfigError, MockConfig, ReplyRule, load_config
from mockserver.faults import Fault, FaultError, parse_fault
from mockserver.journal import JournalEntry
from mockserver.models import DEFAULT_MODELS, ModelInfo
from mockserver.server import ServerThread
from mockserver.state import MockState
from mockserver.testing import InProcessMock, MockController, ServedMock, UnusedMockError

__all__ = [
    "DEFAULT_MODELS",
    "MAGIC_KEYS",
    "MAGIC_MODELS",
    "AINativeMock",
    "ConfigError",
    "Fault",
    "FaultError",
    "InProcessMock",
    "JournalEntry",
    "MockConfig",
    "MockController",
    "MockState",
    "ModelInfo",
    "ReplyRule",
    "ServedMock",
    "ServerThread",
    "UnusedMockError",
    "create_app",
    "load_config",
    "parse_fault",
]
