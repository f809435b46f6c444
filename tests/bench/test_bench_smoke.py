"""Smoke test of the benchmark runner: ``bench/run.py --quick`` runs and writes every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = (
    "non-streaming chat: mock / bare Starlette",
    "SSE stream, 20 chunks, unpaced: mock / bare Starlette",
    "non-streaming chat: mock / ",
    "SSE stream, 20 chunks: mock / ",
    "in-process: InProcessMock().httpx_client() / bare app",
    "memory: mock server RSS growth",
    "pacing: time to first content chunk",
    "pacing: first content chunk to finish chunk",
)


@pytest.mark.slow
@pytest.mark.socket
def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--no-install", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "| CPU |" in text
    assert "| uvicorn |" in text
    assert "Command: `python bench/run.py --quick" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and " | " in line]
    for figure in FIGURES:
        matching = [row for row in rows if row.startswith(f"| {figure}") and "bare Starlette" not in row[len(figure) :]]
        assert matching, f"no row for {figure!r} in:\n{text}"
    # Every A/B figure of the mock itself was measured (a peer may be absent offline: then n/a).
    for figure in FIGURES[:2] + FIGURES[4:]:
        row = next(row for row in rows if row.startswith(f"| {figure}"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[3] not in ("error", "n/a"), row
        assert cells[5] in ("pass", "FAIL"), row
    console = next(row for row in rows if row.startswith("| console log: a line per request / --quiet"))
    assert [cell.strip() for cell in console.strip("|").split("|")][3] not in ("error", "n/a"), console
    assert "Quick mode" in text
