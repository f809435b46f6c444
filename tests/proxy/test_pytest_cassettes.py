"""``@pytest.mark.ainative_mock(cassette=...)`` and ``--ainative-record=none|once|rewrite`` in a real pytest run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from mockserver.cli import build_parser

pytestmark = [pytest.mark.socket, pytest.mark.slow]

INNER = """
import httpx
import openai
import pytest

CHAT = "/v1/chat/completions"
BODY = {"model": "upstream-model", "messages": [{"role": "user", "content": "hello cassette"}]}


@pytest.mark.ainative_mock(cassette="greeting")
def test_greeting(ainative_mock):
    with httpx.Client(base_url=ainative_mock.base_url, headers=ainative_mock.headers) as client:
        answer = client.post(CHAT, json=BODY)
        streamed = client.post(CHAT, json={**BODY, "stream": True})
    assert answer.status_code == 200, answer.text
    print("REPLY:", answer.json()["choices"][0]["message"]["content"])
    assert streamed.text.endswith("data: [DONE]\\n\\n")


@pytest.mark.ainative_mock(cassette="greeting")
def test_greeting_on_a_socket(ainative_server):
    answer = httpx.post(ainative_server.base_url + CHAT, json=BODY, headers=ainative_server.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"].startswith("Echo: hello cassette")
"""


def _run(pytester: pytest.Pytester, mode: str | None, *tests: str) -> pytest.RunResult:
    pytester.makepyprojecttoml('[tool.pytest]\nstrict = true\nfilterwarnings = ["error"]\n')  # as strict as ours
    args = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:schemathesis", "-s", *tests]
    if mode:
        args.append(f"--ainative-record={mode}")
    return pytester.runpytest_subprocess(*args, timeout=120)


def test_record_once_then_replay_without_the_network(pytester, upstream, monkeypatch) -> None:
    app, url = upstream
    pytester.makepyfile(test_inner=INNER)
    monkeypatch.setenv("AINATIVE_UPSTREAM", url)
    cassette = pytester.path / "cassettes" / "greeting"

    missing = _run(pytester, None, "test_inner.py::test_greeting")
    missing.assert_outcomes(errors=1)
    missing.stdout.fnmatch_lines(["*cassette*greeting does not exist: record it with --ainative-record=once*"])
    assert app.received == []

    recorded = _run(pytester, "once", "test_inner.py::test_greeting")
    recorded.assert_outcomes(passed=1)
    assert len(app.received) == 2  # the JSON and the stream went to the upstream
    assert len(list(cassette.glob("*.json"))) == 2
    reply = next(line[line.index("REPLY:") :] for line in recorded.outlines if "REPLY:" in line)

    monkeypatch.delenv("AINATIVE_UPSTREAM")  # replay must not need it
    replayed = _run(pytester, None)
    replayed.assert_outcomes(passed=2)
    assert len(app.received) == 2  # nothing reached the upstream
    assert any(reply in line for line in replayed.outlines)  # the recorded answer, as recorded

    monkeypatch.setenv("AINATIVE_UPSTREAM", url)
    _run(pytester, "once", "test_inner.py::test_greeting").assert_outcomes(passed=1)
    assert len(app.received) == 2  # once: the cassette exists, so it replays

    _run(pytester, "rewrite", "test_inner.py::test_greeting").assert_outcomes(passed=1)
    assert len(app.received) == 4  # rewrite: recorded again
    assert len(list(cassette.glob("*.json"))) == 2


def test_record_once_without_an_upstream_says_what_is_missing(pytester, monkeypatch) -> None:
    monkeypatch.delenv("AINATIVE_UPSTREAM", raising=False)
    pytester.makepyfile(test_inner=INNER)
    result = _run(pytester, "once", "test_inner.py::test_greeting")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*recording cassette*greeting needs AINATIVE_UPSTREAM*"])


README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Record the real API, replay it in CI")[1].split("\n## ")[0]


def test_readme_section_commands_are_real() -> None:
    commands = re.findall(r"```bash\n(.*?)```", SECTION, re.DOTALL)[0].strip().splitlines()
    assert [c.split()[:2] for c in commands] == [["ainative-mock", n] for n in ("proxy", "serve", "drift")]
    parser = build_parser()
    for command in commands:
        words = shlex.split(command)
        args = parser.parse_args(words[words.index("ainative-mock") + 1 :])
        assert args.command in ("proxy", "serve", "drift")


def test_readme_section_example_records_then_replays(pytester, upstream, monkeypatch) -> None:
    app, url = upstream
    example = re.findall(r"```python\n(.*?)```", SECTION, re.DOTALL)[0]
    pytester.makepyfile(test_readme_example=example)
    monkeypatch.setenv("AINATIVE_UPSTREAM", url)
    _run(pytester, "once").assert_outcomes(passed=1)
    assert len(app.received) == 1
    monkeypatch.delenv("AINATIVE_UPSTREAM")
    _run(pytester, None).assert_outcomes(passed=1)
    assert len(app.received) == 1
