"""The ``check`` command: exit codes, one-line errors, dry run, report files."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.conformance import CLAUSES
from contracts.conformance.cli import build_parser, main
from tests.support.reference_server import API_KEY, RunningServer, reference_app, serve


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def garbage_server() -> Iterator[str]:
    """A raw socket that answers every connection with bytes that are not HTTP."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve_garbage() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"\x00\xffSSH-2.0-garbage\r\nnot http at all\r\n\r\n")

    thread = threading.Thread(target=serve_garbage, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from contracts.conformance.cli import main; raise SystemExit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, check=False)


def test_down_target_is_one_plain_line_in_a_subprocess(closed_port: int) -> None:
    result = _run_cli("--base-url", f"http://127.0.0.1:{closed_port}", "--api-key", API_KEY)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "did not answer: cannot connect" in lines[0]
    assert result.stdout == ""


def test_non_http_target_is_one_plain_line(garbage_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base-url", garbage_server, "--api-key", API_KEY]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "not an HTTP answer" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--base-url", "http://x"],
        ["--base-url", "http://x", "--api-key", "k", "--max-requests", "0"],
        ["--base-url", "http://x", "--api-key", "k", "--max-tokens", "many"],
        ["--base-url", "ftp://x", "--api-key", "k"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error" in err
    assert "Traceback" not in err


def test_dry_run_prints_the_plan_and_sends_nothing(closed_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--base-url", f"http://127.0.0.1:{closed_port}", "--api-key", API_KEY, "--max-requests", "12", "--dry-run"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Dry run: nothing is sent." in out
    assert "12 request(s)" in out
    assert "Maximum spend:" in out
    assert "credits" in out
    assert API_KEY not in out


def test_passing_run_prints_progress_and_table_and_writes_reports(
    live_server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    json_path, xml_path = tmp_path / "r.json", tmp_path / "r.xml"
    argv = ["--base-url", live_server.url, "--api-key", API_KEY, "--max-requests", "16"]
    assert main([*argv, "--json", str(json_path), "--junit-xml", str(xml_path)]) == 0
    out = capsys.readouterr().out
    assert "[  1/16] models: GET /v1/models -> 200" in out
    assert "CLAUSE" in out
    assert "STATUS" in out
    assert "EVIDENCE" in out
    data = json.loads(json_path.read_text())
    assert data["ok"] is True
    assert [r["id"] for r in data["results"]] == list(CLAUSES)
    suite = ET.parse(xml_path).getroot()
    assert suite.tag == "testsuite"
    assert int(suite.get("tests", "0")) == len(CLAUSES)
    assert suite.get("failures") == "0"
    assert len(suite.findall("testcase/skipped")) == int(suite.get("skipped", "-1")) == 3


def test_failing_run_exits_1_with_failure_in_junit_and_masked_curl(tmp_path: Path) -> None:
    app, state = reference_app("accepts_bad_key")
    xml_path, json_path = tmp_path / "r.xml", tmp_path / "r.json"
    with serve(app, state) as running:
        argv = ["--base-url", running.url, "--api-key", API_KEY, "--max-requests", "10", "--quiet"]
        assert main([*argv, "--junit-xml", str(xml_path), "--json", str(json_path)]) == 1
    failures = ET.parse(xml_path).getroot().findall("testcase/failure")
    assert len(failures) == 1
    assert "Reproduce" in (failures[0].text or "")
    result = next(r for r in json.loads(json_path.read_text())["results"] if r["status"] == "failed")
    assert result["id"] == "auth.malformed-key"
    assert "X-API-Key: not-a-valid-key" in result["repro"]


def test_report_file_that_cannot_be_written_is_a_usage_error(
    live_server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--base-url", live_server.url, "--api-key", API_KEY, "--max-requests", "3", "--quiet"]
    assert main([*argv, "--json", str(tmp_path / "missing" / "r.json")]) == 2
    assert "cannot write report" in capsys.readouterr().err


def test_build_parser_mounts_on_a_subparser() -> None:
    import argparse

    root = argparse.ArgumentParser(prog="ainative-mock")
    sub = root.add_subparsers(dest="command")
    build_parser(sub.add_parser("check"))
    args = root.parse_args(["check", "--base-url", "http://x", "--api-key", "k", "--dry-run"])
    assert (args.command, args.max_requests, args.max_tokens, args.dry_run) == ("check", 30, 16, True)
