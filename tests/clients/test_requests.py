"""Client matrix: ``requests``, unmodified, against a served mock (no SSE support of its own: lines)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from mockserver.testing import ServedMock
from tests.clients.clients_support import KEY, release_fixture

pytestmark = pytest.mark.socket
release = release_fixture("requests", "2.34.2")
HEADERS = {"X-API-Key": KEY}
BODY: dict[str, Any] = {"model": "claude-sonnet-4.5", "messages": [{"role": "user", "content": "What is ZeroDB?"}]}
CHAT = "/api/v1/chat/completions"
BALANCE = "/api/v1/public/credits/balance"


def test_requests_chat_stream_and_balance(served: ServedMock) -> None:
    with requests.Session() as session:
        session.headers.update(HEADERS)
        text = session.post(served.base_url + CHAT, json=BODY, timeout=10).json()["choices"][0]["message"]["content"]
        # The seed document's way: iter_lines, keep lines starting with b"data: ", skip [DONE].
        with session.post(served.base_url + CHAT, json={**BODY, "stream": True}, stream=True, timeout=10) as response:
            parts = []
            for line in response.iter_lines():
                if line.startswith(b"data: ") and line != b"data: [DONE]":
                    chunk = json.loads(line[6:])
                    parts.append(chunk["choices"][0]["delta"].get("content") or "" if chunk["choices"] else "")
        balance = session.get(served.base_url + BALANCE, timeout=10).json()
    assert "".join(parts) == text
    assert balance["remaining_credits"] < balance["total_credits"]
