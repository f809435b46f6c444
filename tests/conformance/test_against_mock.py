"""The conformance suite holds our own mock: every clause passes, in-process and on a socket."""

from __future__ import annotations

import subprocess
import sys
import time

import jwt
import pytest

from contracts.conformance import CLAUSES, run_checks
from mockserver.app import create_app
from mockserver.config import MockConfig
from mockserver.server import ServerThread
from mockserver.transports import SyncASGITransport

SECRET = MockConfig().jwt_secret


def token() -> str:
    return jwt.encode({"sub": "conformance", "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")


def test_every_clause_passes_against_the_mock_in_process() -> None:
    transport = SyncASGITransport(create_app())
    try:
        report = run_checks(
            "http://mock.test",
            "sk_conformance_key",
            jwt=token(),
            include_paid=True,
            rate_limit_key="ak_test_rate_limited",
            max_requests=40,
            transport=transport,
        )
    finally:
        transport.close()
    statuses = {result.id: result.status for result in report.results}
    assert statuses == dict.fromkeys(CLAUSES, "passed"), report.to_dict()


@pytest.mark.socket
def test_every_clause_passes_against_the_served_mock_through_the_cli() -> None:
    with ServerThread(create_app()) as server:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mockserver",
                "check",
                "--base-url",
                server.base_url,
                "--api-key",
                "sk_conformance_key",
                "--jwt",
                token(),
                "--include-paid",
                "--rate-limit-key",
                "ak_test_rate_limited",
                "--max-requests",
                "40",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    for clause_id in CLAUSES:
        assert clause_id in result.stdout
