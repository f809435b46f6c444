"""Client matrix: ``httpx-sse`` over httpx, unmodified, against a served mock (balance: a plain GET)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from mockserver.testing import ServedMock
from tests.clients.clients_support import KEY, WEATHER_TOOL, release_fixture

pytestmark = pytest.mark.socket
release = release_fixture("httpx-sse", "0.4.3")
HEADERS = {"X-API-Key": KEY}
BODY: dict[str, Any] = {"model": "claude-sonnet-4.5", "messages": [{"role": "user", "content": "What is ZeroDB?"}]}
CHAT = "/api/v1/chat/completions"
BALANCE = "/api/v1/public/credits/balance"


def test_httpx_sse_chat_stream_tools_and_balance(served: ServedMock) -> None:
    with httpx.Client(base_url=served.base_url, headers=HEADERS, timeout=10) as client:
        text = client.post(CHAT, json=BODY).json()["choices"][0]["message"]["content"]
        with connect_sse(client, "POST", CHAT, json={**BODY, "stream": True}) as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            events = [event.data for event in source.iter_sse()]
        tool_body = {**BODY, "stream": True, "tools": [WEATHER_TOOL], "tool_choice": "required"}
        with connect_sse(client, "POST", CHAT, json=tool_body) as source:
            tool_events = [event.data for event in source.iter_sse()]
        balance = client.get(BALANCE).json()
    assert events[-1] == "[DONE]"
    chunks = [json.loads(data) for data in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == text
    arguments = "".join(
        d["function"].get("arguments", "")
        for data in tool_events[:-1]
        for c in [json.loads(data)]
        for ch in c["choices"]
        for d in ch["delta"].get("tool_calls") or ()
    )
    assert set(json.loads(arguments)) == {"city", "unit"}
    assert balance["used_credits"] > 0
