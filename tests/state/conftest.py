"""Fixtures of the state and fault-injection tests; helpers live in state_helpers.py (put on sys.path here)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
