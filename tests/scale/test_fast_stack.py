"""The fast stack by default: uvicorn[standard] is a dependency, and the serve banner names the loop and parser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import uvicorn

from mockserver.app import create_app
from mockserver.server import serving_stack, uvicorn_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_the_package_depends_on_the_fast_stack() -> None:
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    wanted = {req.split(";")[0].replace(" ", "") for req in project["dependencies"]}
    assert any(req.startswith("uvicorn[standard]") for req in wanted), wanted
    assert any(req.startswith("orjson") for req in wanted), wanted
    import httptools  # noqa: F401 - installed by uvicorn[standard]
    import uvloop  # noqa: F401


def test_serving_stack_reports_auto_as_what_uvicorn_picks() -> None:
    config = uvicorn_config(create_app(), "127.0.0.1", 0)
    assert serving_stack(config) == ("uvloop", "httptools")
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"


def test_serving_stack_reports_an_explicit_choice() -> None:
    config = uvicorn.Config(create_app(), loop="asyncio", http="h11")
    assert serving_stack(config) == ("asyncio", "h11")


@pytest.mark.socket
def test_the_serve_banner_names_the_event_loop_and_http_parser() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AINATIVE_MOCK_LOG_LEVEL": "warning"},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert lines[4].strip() == "event loop: uvloop   HTTP parser: httptools", lines
