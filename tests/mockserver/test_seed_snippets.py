"""The seed document's two Python snippets run, unchanged but for the URL, against a served mock.

The snippets are copied from the seed (``ainative-chat-completions`` skill, sections "Basic Request"
and "Streaming (SSE)") with their Python indentation; the shared copy of the seed lost its leading
whitespace, which is not valid Python, and ``test_snippets_are_the_seeds`` checks every other
character against it when that copy is present.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.testing import ServedMock

pytestmark = pytest.mark.socket

PRODUCTION = "https://api.ainative.studio"
SEED_DOC = Path(__file__).resolve().parents[2] / "docs" / "seed-ainative-chat-completions.md"  # as handed to us

BASIC = """\
import requests
response = requests.post(
    "https://api.ainative.studio/v1/public/chat/completions",
    headers={"X-API-Key": "ak_your_key"},
    json={
        "model": "claude-3-5-sonnet-20241022",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is ZeroDB?"}
        ],
        "temperature": 0.7,
        "max_tokens": 1024
    }
)
data = response.json()
print(data["choices"][0]["message"]["content"])
print(f"Tokens used: {data['usage']['total_tokens']}")
"""

STREAMING = """\
import requests
with requests.post(
    "https://api.ainative.studio/v1/public/chat/completions",
    headers={"X-API-Key": "ak_your_key"},
    json={"model": "claude-3-5-sonnet-20241022",
          "messages": [{"role": "user", "content": "Count to 5"}],
          "stream": True},
    stream=True
) as resp:
    for line in resp.iter_lines():
        if line and line.startswith(b"data: "):
            chunk = line[6:]
            if chunk != b"[DONE]":
                import json
                delta = json.loads(chunk)["choices"][0]["delta"]
                print(delta.get("content", ""), end="", flush=True)
"""


def _run(snippet: str, served: ServedMock, tmp_path: Path) -> str:
    assert snippet.count(PRODUCTION) == 1
    script = tmp_path / "snippet.py"
    script.write_text(snippet.replace(PRODUCTION, served.base_url), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def test_basic_snippet_prints_a_reply_and_the_token_count(served: ServedMock, tmp_path: Path) -> None:
    out = _run(BASIC, served, tmp_path)
    reply, tokens, *rest = out.splitlines()
    assert rest == []
    (entry,) = served.state.requests()
    assert entry.status == 200
    assert reply and "ZeroDB" in reply
    assert tokens == f"Tokens used: {entry.usage['total_tokens']}"
    assert int(tokens.split(": ")[1]) > 0


def test_streaming_snippet_prints_the_streamed_reply(served: ServedMock, tmp_path: Path) -> None:
    assert _run(STREAMING, served, tmp_path) == "1, 2, 3, 4, 5"


def _seed_python_blocks() -> list[str]:
    text = SEED_DOC.read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:3]]


def test_snippets_are_the_seeds() -> None:
    for ours, seed in zip((BASIC, STREAMING), _seed_python_blocks(), strict=True):
        assert [line.strip() for line in ours.splitlines()] == [line.strip() for line in seed.splitlines()]
