"""Every example in README.md runs, against a real mock, and the two set-up commands stay true."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.config import load_config
from mockserver.testing import ServedMock

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.DOTALL)
README_URL = "http://127.0.0.1:8000"

pytestmark = pytest.mark.socket


def blocks(language: str) -> list[str]:
    return [code for lang, code in BLOCKS if lang == language]


@pytest.fixture(scope="module")
def served() -> Iterator[ServedMock]:
    with ServedMock() as mock:
        yield mock


def run(command: list[str], tmp_path: Path, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AINATIVE_"))}
    return subprocess.run(
        command, input=code, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env, check=False
    )


def test_readme_shows_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    commands = blocks("bash")[:2]
    assert commands[0].strip() == "python3 -m pip install . && python3 -m mockserver serve"
    assert commands[1].strip() == "python3 -m pip install tox && python3 -m tox"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m tox" in ci and "pip install" in ci and "tox" in ci


@pytest.mark.parametrize("index", range(len([c for c in blocks("python") if "def test_" not in c])))
def test_python_examples_run_against_the_mock(index: int, served: ServedMock, tmp_path: Path) -> None:
    code = [c for c in blocks("python") if "def test_" not in c][index]
    result = run([sys.executable, "-"], tmp_path, code.replace(README_URL, served.base_url))
    assert result.returncode == 0, result.stderr
    if README_URL in code:
        assert result.stdout.strip(), "the example printed nothing"
        assert served.count(status=200) > 0


def test_openai_example_prints_the_reply_and_the_counted_stream(served: ServedMock, tmp_path: Path) -> None:
    code = next(c for c in blocks("python") if "from openai import OpenAI" in c)
    result = run([sys.executable, "-"], tmp_path, code.replace(README_URL, served.base_url))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "1, 2, 3, 4, 5"


def test_requests_example_prints_tokens_and_balance(served: ServedMock, tmp_path: Path) -> None:
    code = next(c for c in blocks("python") if "import requests" in c and "def test_" not in c)
    result = run([sys.executable, "-"], tmp_path, code.replace(README_URL, served.base_url))
    assert result.returncode == 0, result.stderr
    assert re.search(r"^Tokens used: \d+$", result.stdout, re.MULTILINE)
    assert re.search(r"^Remaining: \d+", result.stdout, re.MULTILINE)


def test_fetch_example_streams_in_node(served: ServedMock, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the README's fetch example (install nodejs)")
    code = blocks("javascript")[0].replace(README_URL, served.base_url)
    result = run([node, "--input-type=module", "-"], tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1, 2, 3, 4, 5"


def test_pytest_examples_pass_with_the_installed_plugin(tmp_path: Path) -> None:
    code = next(c for c in blocks("python") if "def test_" in c)
    (tmp_path / "test_readme_example.py").write_text(code, encoding="utf-8")
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b3 passed\b", result.stdout), result.stdout


def test_toml_example_is_a_valid_mock_config(tmp_path: Path) -> None:
    file = tmp_path / "mock.toml"
    file.write_text(blocks("toml")[0], encoding="utf-8")
    config = load_config(env={}, config_file=file)
    assert config.seed == 7 and config.tokens_per_second == 40
    assert config.model("my-model") is not None and config.model("my-model").price == 0.5  # type: ignore[union-attr]
    assert [rule.match for rule in config.replies] == ["weather", "^book a table"]
    assert config.replies[1].tool_call == {"name": "book_table", "arguments": {"people": 2}}


def test_contract_example_names_the_bad_fields(tmp_path: Path) -> None:
    code = next(c for c in blocks("python") if c.startswith("import contracts"))
    result = run([sys.executable, "-"], tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert "'$.total_credits'" in result.stdout and "'$.used_credits'" in result.stdout


CLIENT_ROWS = re.findall(
    r"^\| `([\w-]+)`.*\| `(.+)` \|$", README.split("### Which clients each fixture serves")[1], re.MULTILINE
)
CLIENT_TABLE_TESTS = """
import asyncio
import os

import ainative
import ainative_agent
import ainative_openai
import httpx
import openai
import pytest
import requests
from ainative_agent.types import ChatRequest

MESSAGES = [{{"role": "user", "content": "Hi"}}]
ROWS = {rows!r}


@pytest.mark.parametrize("fixture", ["ainative_mock", "ainative_server"])
@pytest.mark.parametrize("client", list(ROWS))
def test_row(request, fixture, client):
    mock = request.getfixturevalue(fixture)
    code = "async def line():\\n    return " + ROWS[client]
    scope = dict(globals())
    exec(code, scope)
    if client == "requests" and fixture == "ainative_mock":
        with pytest.raises(requests.ConnectionError):  # requests opens its own socket: not served in-process
            asyncio.run(scope["line"]())
        return
    asyncio.run(scope["line"]())
    entry = mock.last_request
    assert (entry.method, entry.path, entry.status) == ("POST", "/api/v1/chat/completions", 200)
    assert mock.count() == 1
"""


def test_client_table_rows_work_under_both_fixtures(tmp_path: Path) -> None:
    rows = dict(CLIENT_ROWS)
    assert list(rows) == ["openai", "ainative-openai", "ainative-agent", "ainative-python", "httpx", "requests"]
    (tmp_path / "test_client_table.py").write_text(CLIENT_TABLE_TESTS.format(rows=rows), encoding="utf-8")
    # The one-line examples never close their clients; their sockets are reclaimed whenever the
    # garbage collector runs, which pytest reports as unraisable warnings in some later test.
    no_gc_reports = ["-p", "no:unraisableexception"]
    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", *no_gc_reports], tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b12 passed\b", result.stdout), result.stdout


def test_the_shown_assertion_failure_is_what_assert_requested_says() -> None:
    from mockserver import InProcessMock

    shown = next(block for block in blocks("text") if block.startswith("AssertionError")).strip()
    with InProcessMock() as mock:
        mock.httpx_client(headers=mock.headers).post(
            "/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
        )
        with pytest.raises(AssertionError) as failure:
            mock.assert_requested(path="/v1/chat/completions", model="gpt-4o", status=402)
    assert f"AssertionError: {failure.value}" == shown
