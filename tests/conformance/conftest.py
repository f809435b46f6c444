"""Fixtures of the conformance tests; the servers live in tests/support/reference_server.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.reference_server import RunningServer, ServerState, reference_app, serve


@pytest.fixture
def make_app() -> Callable[..., tuple[Any, ServerState]]:
    """Factory of reference apps: ``make_app(defect=None)`` -> (app, state)."""
    return reference_app


@pytest.fixture
def live_server() -> Iterator[RunningServer]:
    """The correct reference server on a real socket."""
    app, state = reference_app()
    with serve(app, state) as running:
        yield running
