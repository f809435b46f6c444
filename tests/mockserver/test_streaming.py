"""SSE streams on a real socket: byte-exact framing, the stream grammar, and what the checks catch."""

from __future__ import annotations

import json

import httpx
import pytest

import contracts
from mockserver.testing import ServedMock
from tests.support.chat import BODY, HEADERS
from tests.support.checks import check_stream, finish_reason, sse_payloads, stream_text
from tests.support.mocks import Mock


def _stream_raw(served: ServedMock, body: dict[str, object]) -> tuple[httpx.Response, bytes, list[bytes]]:
    with (
        httpx.Client(base_url=served.base_url, timeout=10) as client,
        client.stream("POST", "/v1/public/chat/completions", json=body, headers=HEADERS) as response,
    ):
        pieces = list(response.iter_raw())
    return response, b"".join(pieces), pieces


@pytest.mark.socket
@pytest.mark.parametrize("include_usage", [False, True])
def test_socket_stream_is_byte_exact(served: ServedMock, include_usage: bool) -> None:
    body = {**BODY, "stream": True, "stream_options": {"include_usage": include_usage}}
    response, raw, _ = _stream_raw(served, body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-request-id"].startswith("req_")
    assert raw.endswith(b"\n\ndata: [DONE]\n\n")
    chunks = check_stream(raw)
    for payload in sse_payloads(raw)[:-1]:  # compact one-line JSON, re-encodable to the same bytes
        assert payload == json.dumps(json.loads(payload), separators=(",", ":"), ensure_ascii=False)
    assert ("usage" in chunks[-1] and chunks[-1]["choices"] == []) is include_usage


@pytest.mark.socket
def test_socket_stream_matches_the_non_streamed_reply(served: ServedMock) -> None:
    with httpx.Client(base_url=served.base_url, timeout=10) as client:
        plain = client.post("/api/v1/chat/completions", json=BODY, headers=HEADERS).json()
        lines: list[str] = []
        with client.stream("POST", "/api/v1/chat/completions", json={**BODY, "stream": True}, headers=HEADERS) as r:
            lines = list(r.iter_lines())
    payloads = [line[len("data: ") :] for line in lines if line]
    assert all(line.startswith("data: ") for line in lines if line)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert stream_text(chunks) == plain["choices"][0]["message"]["content"]
    assert finish_reason(chunks) == plain["choices"][0]["finish_reason"] == "stop"


@pytest.mark.socket
def test_paced_stream_sends_one_event_per_write(serve_mock: object) -> None:
    served: ServedMock = serve_mock(tokens_per_second=200)  # type: ignore[operator]
    served.state.reply("a b c d e f")
    _, raw, pieces = _stream_raw(served, {**BODY, "stream": True})
    chunks = check_stream(raw)
    assert stream_text(chunks) == "a b c d e f"
    assert len(pieces) >= 6, "paced events arrived glued together"


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("no_done", r"\[DONE\]"),
        ("no_finish_reason", "finish_reason"),
        ("malformed_chunk", "Expecting|Unterminated|unexpected bytes"),
        ("error_frame", "DONE|chat-completion-chunk"),
    ],
)
def test_stream_check_catches_broken_streams(mock: Mock, fault: str, problem: str) -> None:
    """The stream faults exist to break clients; the grammar check must notice each of them."""
    response = mock.post({**BODY, "stream": True}, headers={**HEADERS, "X-Mock-Fault": fault})
    assert response.status_code == 200
    with pytest.raises((AssertionError, ValueError, contracts.ContractViolation), match=problem):
        check_stream(response.content)


def test_stream_faults_do_not_touch_non_streaming_requests(mock: Mock) -> None:
    response = mock.post(BODY, headers={**HEADERS, "X-Mock-Fault": "disconnect"})
    assert response.status_code == 200
    contracts.validate("chat-completion", response.json())
