"""Smoke test of bench/stack.py: both stacks and the workers figure are measured (figures not judged here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.socket
def test_stack_bench_measures_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.stack", "--rounds", "1", "--seconds", "0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ratios = dict(re.findall(r"^(.+): (\d+\.\d\d)", done.stdout, re.MULTILINE))
    names = "\n".join(ratios)
    for figure in (
        "non-streamed chat, fast stack (uvloop + httptools): mock / bare Starlette, per server CPU-second",
        "SSE, 20 chunks, fast stack (uvloop + httptools): mock / bare Starlette, per server CPU-second",
        "non-streamed chat, default install (asyncio + h11): mock / bare Starlette",
        "non-streamed chat: --workers 2 --state redis:// / one worker in memory",
    ):
        assert figure in names, done.stdout
    assert all(float(ratio) > 0 for ratio in ratios.values()), done.stdout
