"""``ainative-mock serve``: help lists every option, bad values exit 2 in one line, a real server starts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import httpx
import pytest

from mockserver import cli
from mockserver.cli import main
from mockserver.config import CLI_ALIASES, OPTIONS
from tests.support.chat import BODY, HEADERS
from tests.support.checks import check_response

CLI_OPTIONS = [option for option in OPTIONS if option.cli]


def test_serve_help_documents_every_cli_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in CLI_OPTIONS:
        assert option.flag in text, option.name
        assert option.env in text, option.name
        assert " ".join(option.help.split()) in text, option.name
        if option.name in CLI_ALIASES:
            assert CLI_ALIASES[option.name] in text
    for option in OPTIONS:
        if not option.cli:
            assert option.flag not in text


def test_installed_script_help() -> None:
    script = shutil.which("ainative-mock", path=os.path.dirname(sys.executable))
    assert script is not None
    done = subprocess.run([script, "serve", "--help"], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0
    assert "--tokens-per-second" in done.stdout


BAD_VALUES = [
    (["--port", "abc"], "--port"),
    (["--port", "70000"], "port"),
    (["--seed", "x"], "--seed"),
    (["--error-style", "xml"], "error_style"),
    (["--fault-rate", "2"], "fault_rate"),
    (["--faults", "explode"], "faults"),
    (["--ttft-ms", "-1"], "ttft_ms"),
    (["--unknown-model-status", "418"], "unknown_model_status"),
    (["--max-body-bytes", "0"], "max_body_bytes"),
    (["--config", "/nonexistent/mock.toml"], "mock.toml"),
    (["--log-level", "loud"], "log_level"),
]


@pytest.mark.parametrize(("args", "names"), BAD_VALUES)
def test_bad_option_value_exits_2_with_one_line(
    args: list[str], names: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def serve(config: object) -> int:  # what main() would run next; a bad value must never get here
        cli.uvicorn_config(None, "127.0.0.1", 0, config.log_level)  # type: ignore[arg-type, attr-defined]
        raise AssertionError(f"{args} was accepted")

    monkeypatch.setattr(cli, "serve", serve)
    for name in list(os.environ):
        if name.startswith("AINATIVE_MOCK_"):
            monkeypatch.delenv(name)
    assert main(["serve", "--port", "0", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert names in lines[0]
    assert captured.out == ""


@pytest.mark.parametrize(("args", "names"), [BAD_VALUES[0], BAD_VALUES[-1]])
def test_bad_option_value_in_a_subprocess_has_no_traceback(args: list[str], names: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert names in done.stderr
    assert "listening" not in done.stdout


def _start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [*args, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(4)]
    return process, lines


@pytest.mark.socket
@pytest.mark.parametrize("command", ["script", "module"])
def test_serve_port_0_prints_urls_and_answers(command: str) -> None:
    script = shutil.which("ainative-mock", path=os.path.dirname(sys.executable))
    args = [script] if command == "script" else [sys.executable, "-m", "mockserver"]
    process, lines = _start(*args, env={"AINATIVE_MOCK_SEED": "3"})  # type: ignore[list-item]
    try:
        banner = "".join(lines)
        match = re.search(r"listening on (http://127\.0\.0\.1:(\d+))\n", banner)
        assert match, banner
        base = match.group(1)
        assert int(match.group(2)) > 0
        assert f"{base}/api/v1" in banner
        assert "seed: 3" in banner
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.post(f"{base}/api/v1/chat/completions", json=BODY, headers=HEADERS, timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "server never answered"
                time.sleep(0.05)
        assert response.status_code == 200
        check_response(response)
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "serve" in capsys.readouterr().out
