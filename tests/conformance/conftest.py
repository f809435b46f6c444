"""Fixtures of the conformance tests; the servers live in conformance_reference.py (put on sys.path here)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conformance_reference import RunningServer, ServerState, reference_app, serve


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
