"""The check command keeps keys out of the command line and out of its reports."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from contracts.conformance import run_checks
from contracts.conformance.asgi import SyncASGITransport
from mockserver.testing import ServedMock

KEY = "sk_live_0123456789abcdefWXYZ"


def run_check(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AINATIVE_")}
    return subprocess.run(
        [sys.executable, "-m", "mockserver", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        check=False,
    )


@pytest.mark.socket
def test_the_key_can_come_from_the_environment_and_never_shows() -> None:
    with ServedMock() as served:
        result = run_check(
            "--base-url", served.base_url, "--max-requests", "12", "--quiet", env={"AINATIVE_API_KEY": KEY}
        )
    assert result.returncode in (0, 1), result.stderr
    assert KEY not in result.stdout + result.stderr


def test_no_key_at_all_is_a_usage_error() -> None:
    result = run_check("--base-url", "http://127.0.0.1:9", env={})
    assert result.returncode == 2
    assert "--api-key is required (or set AINATIVE_API_KEY)" in result.stderr


def test_a_server_echoing_the_key_does_not_leak_it_into_the_report() -> None:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"detail": f"bad key {request.headers.get('x-api-key')}"}, status_code=500)

    app = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])
    transport = SyncASGITransport(app)
    try:
        report = run_checks("http://echo.test", KEY, max_requests=8, transport=transport)
    finally:
        transport.close()
    text = str(report.to_dict())
    assert report.failed
    assert KEY not in text
    assert "****WXYZ" in text
