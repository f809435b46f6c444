"""``ainative-mock proxy`` from the shell: recording, reports at exit, and no secret anywhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.socket, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_live_Zq8vT3nW5kR1pL7m"
CUSTOM = "ACCT-7741-5532"  # an account number: only --scrub knows it is secret
COOKIE = "sessionid=cookie-secret-9f8e7d6c"


def _jwt() -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": "user-1", "exp": 4102444800}).encode())
    signature = hmac.new(b"secret", f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "proxy", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    assert match, line + (process.stderr.read() if process.stderr else "")
    return process, match.group(1)


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    return out, err


def test_no_secret_in_cassettes_logs_or_reports(upstream, tmp_path) -> None:
    app, direct_url = upstream
    app.words = 40  # the reply echoes the whole prompt
    record, report = tmp_path / "cassettes", tmp_path / "report.json"
    jwt = _jwt()
    process, proxy_url = _start(
        ["--upstream", direct_url, "--record", str(record), "--report", str(report), "--scrub", r"ACCT-\d{4}-\d{4}"]
    )
    try:
        headers = {"X-API-Key": KEY, "Authorization": f"Bearer {jwt}", "Cookie": COOKIE}
        prompt = f"my key is {KEY}, my token {jwt}, my account {CUSTOM}"
        body = {"model": "upstream-model", "messages": [{"role": "user", "content": prompt}]}
        answers = [
            httpx.post(proxy_url + "/v1/chat/completions", json=body, headers=headers),
            httpx.post(proxy_url + "/v1/chat/completions", json={**body, "stream": True}, headers=headers),
        ]
        app.defect = (
            "leaky-error"  # an off-contract error echoing the credentials: a violation whose evidence holds them
        )
        answers.append(httpx.post(proxy_url + "/v1/unknown", json=body, headers=headers))
        app.defect = "usage-sum"
        answers.append(httpx.post(proxy_url + "/v1/chat/completions", json=body, headers=headers))
    finally:
        out, err = _stop(process)
    assert KEY in answers[0].text and CUSTOM in answers[0].text  # the client got the upstream's echo, unaltered
    assert KEY in answers[2].text
    files = sorted(record.iterdir())
    assert len(files) == 3  # the 4th request matches the 1st: same cassette, latest answer
    texts = {str(p): p.read_text() for p in files}
    texts["report"] = report.read_text()
    texts["stdout"], texts["stderr"] = out, err
    assert "contract violation: clause=chat.usage-sum" in err  # the log is there ...
    for where, text in texts.items():  # ... and holds no secret, nor does anything else
        for secret in (KEY, jwt, jwt.split(".")[1], CUSTOM, "cookie-secret-9f8e7d6c", "upstream-session-cookie-value"):
            assert secret not in text, f"{secret[:12]}... leaked into {where}"
    assert "[SCRUBBED]" in texts[str(files[0])]
    assert json.loads(report.read_text())["by_clause"]["errors.body-schema"] == 1


def test_junit_report_at_exit(upstream, tmp_path) -> None:
    app, direct_url = upstream
    app.defect = "double-finish"
    report = tmp_path / "report.xml"
    process, proxy_url = _start(["--upstream", direct_url, "--report", str(report)])
    try:
        body = {"model": "upstream-model", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        httpx.post(proxy_url + "/v1/chat/completions", json=body, headers={"X-API-Key": KEY})
    finally:
        _stop(process)
    text = report.read_text()
    assert text.startswith("<?xml") and 'name="stream.grammar"' in text and "<failure" in text


def test_bad_scrub_pattern_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "proxy", "--upstream", "http://127.0.0.1:9", "--scrub", "(unclosed"],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=30,
    )
    assert result.returncode == 2
    assert "not a regular expression" in result.stderr


def test_one_useful_log_line_per_exchange_and_no_key_from_the_query(upstream, tmp_path) -> None:
    _, direct_url = upstream
    process, proxy_url = _start(["--upstream", direct_url, "--record", str(tmp_path / "cassettes")])
    try:
        body = {"model": "upstream-model", "messages": [{"role": "user", "content": "hi"}]}
        httpx.post(proxy_url + f"/v1/chat/completions?api_key={KEY}", json=body, headers={"X-API-Key": KEY})
        httpx.post(proxy_url + "/v1/chat/completions", json={**body, "stream": True}, headers={"X-API-Key": KEY})
    finally:
        _, err = _stop(process)
    assert KEY not in err  # httpx's own request line would carry the query string
    lines = [line for line in err.splitlines() if line.startswith("POST /v1/chat/completions -> 200")]
    assert len(lines) == 2, err
    assert "byte(s), 0 violation(s)" in lines[0] and "recorded post-v1-chat-completions-" in lines[0]
    assert re.search(r"\d+ event\(s\), 0 violation\(s\)", lines[1]), lines[1]
