"""Smoke test of the proxy benchmark: ``bench/proxy.py --quick`` measures and writes its section."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.socket
def test_quick_proxy_bench_writes_its_section(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_text(
        "# Benchmark results\n\n## Figures\n\nkept\n\n## Proxy overhead\n\nold figures\n\n## Notes\n\nkept too\n"
    )
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "proxy.py"), "--quick", "--results", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "old figures" not in text and "kept\n" in text and "kept too" in text
    for figure in (
        "proxy: non-streamed chat latency",
        "proxy: time to first event",
        "proxy: time to first content chunk",
        "proxy: first content chunk arrives before the stream ends",
    ):
        assert f"| {figure}" in text
    assert "ms before the end (not buffered)" in text
