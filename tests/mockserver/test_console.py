"""The console of ``ainative-mock serve``: one line per request with its fields, ``--quiet`` for none."""

from __future__ import annotations

import io
import re

import httpx
import pytest

from mockserver.console import HEADER, ConsoleLog, format_entry
from mockserver.journal import JournalEntry
from tests.mockserver.cli_process import ServeProcess

KEY = "ak_console_test_4321"


def test_a_line_has_every_field() -> None:
    entry = JournalEntry(
        1,
        "POST",
        "/v1/public/chat/completions",
        200,
        key="ak_…4321",
        model="gpt-4o",
        stream=True,
        chunks_sent=9,
        disconnected=True,
        fault={"fault": "disconnect", "after_chunks": 9, "source": "queue"},
        usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        charged=5.5,
        duration_ms=12.34,
        at=1_700_000_000.123,
    )
    line = format_entry(entry)
    assert re.match(r"\d\d:\d\d:\d\d\.123 ", line)
    for part in ("POST", "/v1/public/chat/completions", "gpt-4o", " 200 ", "SSE 9 cut", "disconnect @9", "7 tok"):
        assert part in line, part
    assert "5.5 cr" in line and "12.3 ms" in line and line.endswith("ak_…4321")


def test_an_error_line_has_its_status_and_fault_and_no_tokens() -> None:
    entry = JournalEntry(
        2,
        "POST",
        "/api/v1/chat/completions",
        429,
        key="ak_…4321",
        model="gpt-4o",
        fault={"fault": "http_error", "status": 429, "retry_after": 3, "source": "queue"},
        usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    )
    line = format_entry(entry)
    assert " 429 " in line and "429 retry 3s" in line and "tok" not in line and " cr " not in line


def test_request_content_cannot_drive_the_terminal() -> None:
    entry = JournalEntry(3, "POST", "/v1/chat/completions", 503, model="evil\x1b[2J\x07model\nnext")
    line = format_entry(entry)
    assert "\x1b" not in line and "\x07" not in line and "\n" not in line
    assert "evil\\x1b[2J" in line


def test_console_log_repeats_its_header_and_survives_a_closed_stream() -> None:
    out = io.StringIO()
    log = ConsoleLog(out)
    for seq in range(41):
        log(JournalEntry(seq + 1, "GET", "/v1/models", 200))
    lines = out.getvalue().splitlines()
    assert lines[0] == HEADER and lines[41] == HEADER and len(lines) == 43
    out.close()
    log(JournalEntry(42, "GET", "/v1/models", 200))  # no exception: the request must not fail


@pytest.mark.slow
@pytest.mark.socket
def test_serve_prints_a_line_per_request_and_quiet_prints_none() -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
    with ServeProcess() as served:
        assert any("inspector:" in line for line in served.stdout)
        httpx.post(served.base_url + "/api/v1/chat/completions", headers={"X-API-Key": KEY}, json=body)
        line = served.wait_for(r"/api/v1/chat/completions")
        assert "POST" in line and "gpt-4o" in line and " 200 " in line and "ak_…4321" in line
        assert KEY not in "\n".join(served.stdout + served.stderr)
        httpx.post(
            served.base_url + "/api/v1/chat/completions", headers={"X-API-Key": KEY}, json={**body, "stream": True}
        )
        assert "SSE" in served.wait_for(r"SSE \d+")
        refused = httpx.get(served.base_url + "/_mock/requests", headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403
        line = served.wait_for(r"refused a page on https://evil\.example")
        assert "--cors-origin https://evil.example" in line
    with ServeProcess("--quiet") as quiet:
        for _ in range(3):
            httpx.post(quiet.base_url + "/api/v1/chat/completions", headers={"X-API-Key": KEY}, json=body)
        assert httpx.get(quiet.base_url + "/_mock/requests").json()["total"] == 3
        quiet.stop()
        assert not any("/api/v1/chat/completions" in line for line in quiet.stdout + quiet.stderr)


def test_readme_shows_the_console_as_it_is() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert block[0] == HEADER
    for line in block[1:]:
        assert re.match(r"\d\d:\d\d:\d\d\.\d{3} POST   /api/v1/chat/completions ", line), line
