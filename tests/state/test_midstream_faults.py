"""Mid-stream faults on a real socket: each sends exactly the bytes it promises, then the server carries on.

Read with a plain socket (``tests.support.raw_http.raw_post``), which sees the chunk framing, whether the terminating
zero-size chunk came, and when each event arrived.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import contracts
from mockserver.app import AINativeMock
from mockserver.models import ModelInfo
from mockserver.server import ServerThread
from tests.support.chat import BALANCE, CHAT, DONE, KEY, chat_body, headers
from tests.support.checks import check_response, check_stream
from tests.support.mocks import served_mock
from tests.support.raw_http import RawStream, raw_post

pytestmark = pytest.mark.socket

PRICE = 0.25
MODELS = (ModelInfo("priced-model", 100_000, "ainative", price=PRICE),)
PROMPT = "count to 12"  # reply "1, 2, ..., 12": 12 content events


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[AINativeMock, ServerThread]]:
    """One mock served on 127.0.0.1 for the module (state reset by ``served``)."""
    with served_mock(models=MODELS, default_model="priced-model") as served:
        yield served.mock, served.server


@pytest.fixture
def served(server: tuple[AINativeMock, ServerThread]) -> Iterator[tuple[AINativeMock, ServerThread]]:
    """The module's served mock, reset before the test; after the test it must still answer a stream normally."""
    mock, thread = server
    mock.state.reset()
    yield mock, thread
    mock.state.reset()
    after = raw_post(thread.port, chat_body(PROMPT, stream=True))
    assert after.status == 200 and after.complete and not after.closed_early
    check_stream(after.body)
    assert entry_for(mock, after).fault is None  # and let its journal entry land before the next test resets


def content_chunks(payloads: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(p) for p in payloads if p != b"[DONE]"]


def send_with_fault(mock: AINativeMock, port: int, fault: str, how: str, **params: Any) -> RawStream:
    """One stream with ``fault``, set by the X-Mock-Fault header or queued through ``POST /_mock/faults``."""
    if how == "header":
        text = "; ".join([fault, *(f"{k}={v}" for k, v in params.items())])
        result = raw_post(port, chat_body(PROMPT, stream=True), {"X-Mock-Fault": text})
    else:
        queued = httpx.post(f"http://127.0.0.1:{port}/_mock/faults", json={"fault": fault, **params})
        assert queued.status_code == 201, queued.text
        result = raw_post(port, chat_body(PROMPT, stream=True))
        assert mock.state.pending()["faults"] == []
    entry = entry_for(mock, result)
    assert entry.fault is not None and entry.fault["fault"] == fault
    assert entry.fault["source"] == how
    assert result.status == 200
    return result


def entry_for(mock: AINativeMock, result: RawStream, timeout: float = 5.0) -> Any:
    """The journal entry of ``result`` (a stream is journalled just after its last byte, so wait for it)."""
    request_id = result.headers["x-request-id"]
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in mock.state.requests() if e.request_id == request_id]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no journal entry for {request_id}"
        time.sleep(0.005)


def wait_for_entries(mock: AINativeMock, count: int, timeout: float = 5.0) -> list[Any]:
    """The journal once it holds ``count`` entries (a stream is journalled when it ends)."""
    deadline = time.monotonic() + timeout
    while len(mock.state.requests()) < count:
        assert time.monotonic() < deadline, f"journal has {len(mock.state.requests())} entries, wanted {count}"
        time.sleep(0.01)
    return mock.state.requests()


HOW = pytest.mark.parametrize("how", ["header", "queue"])


@HOW
def test_disconnect_after_n_events(served: tuple[AINativeMock, ServerThread], how: str) -> None:
    mock, thread = served
    result = send_with_fault(mock, thread.port, "disconnect", how, after_chunks=3)
    assert result.closed_early and not result.complete, "the connection must drop without the terminating chunk"
    assert len(result.events) == 3
    assert result.body.count(b"data: ") == 3
    chunks = content_chunks(result.payloads)
    for chunk in chunks:
        contracts.validate("chat-completion-chunk", chunk)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    entry = entry_for(mock, result)
    assert entry.chunks_sent == 3
    usage = entry.usage
    assert entry.charged == pytest.approx((usage["prompt_tokens"] + 2) * PRICE)  # role event + 2 tokens
    assert check_response(httpx.get(thread.base_url + BALANCE, headers=headers()))["used_credits"] == entry.charged


def test_disconnect_is_an_incomplete_read_for_httpx(served: tuple[AINativeMock, ServerThread]) -> None:
    _, thread = served
    events = []
    fault = headers(X_Mock_Fault="disconnect; after_chunks=4")
    with httpx.Client(base_url=thread.base_url) as client:
        stream = client.stream("POST", CHAT, headers=fault, json=chat_body(stream=True))
        with pytest.raises(httpx.RemoteProtocolError, match="incomplete"), stream as response:
            events.extend(line for line in response.iter_lines() if line)
        assert len(events) == 4
        again = client.post(CHAT, headers=headers(), json=chat_body(stream=True))
        assert again.status_code == 200
        check_response(again)


@HOW
def test_malformed_chunk(served: tuple[AINativeMock, ServerThread], how: str) -> None:
    mock, thread = served
    result = send_with_fault(mock, thread.port, "malformed_chunk", how, after_chunks=2)
    assert result.complete and not result.closed_early
    assert result.payloads[-1] == b"[DONE]"
    broken = []
    for index, payload in enumerate(result.payloads[:-1]):
        try:
            chunk = json.loads(payload)
        except ValueError:
            broken.append(index)
            continue
        contracts.validate("chat-completion-chunk", chunk)
    assert broken == [2]
    # without the broken event the stream is a whole, valid one
    rest = [event for i, (_, event) in enumerate(result.events) if i != 2]
    chunks = check_stream(b"".join(e + b"\n\n" for e in rest))
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == ", ".join(
        str(i) for i in range(1, 13)
    )


@HOW
def test_stall(served: tuple[AINativeMock, ServerThread], how: str) -> None:
    mock, thread = served
    result = send_with_fault(mock, thread.port, "stall", how, ms=300, after_chunks=2)
    assert result.complete
    check_stream(result.body)
    times = [t for t, _ in result.events]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # between event 2 and event 3; 15 ms allow for when the client's reads woke (the server sleeps >= 300 ms)
    assert gaps[1] >= 0.3 - 0.015, gaps
    assert max(gaps[:1] + gaps[2:]) < 0.25, gaps  # and nowhere else


@HOW
def test_error_frame(served: tuple[AINativeMock, ServerThread], how: str) -> None:
    mock, thread = served
    result = send_with_fault(mock, thread.port, "error_frame", how, after_chunks=2)
    assert result.complete and not result.closed_early
    assert len(result.events) == 3
    assert DONE not in result.body
    for payload in result.payloads[:2]:
        contracts.validate("chat-completion-chunk", json.loads(payload))
    frame = json.loads(result.payloads[2])
    contracts.validate("error-openai", frame)
    assert set(frame) == {"error"}
    entry = entry_for(mock, result)
    assert entry.chunks_sent == 3
    assert entry.charged == pytest.approx((entry.usage["prompt_tokens"] + 1) * PRICE)


@HOW
def test_no_finish_reason(served: tuple[AINativeMock, ServerThread], how: str) -> None:
    mock, thread = served
    result = send_with_fault(mock, thread.port, "no_finish_reason", how)
    assert result.complete
    assert result.payloads[-1] == b"[DONE]"
    chunks = content_chunks(result.payloads)
    for chunk in chunks:
        contracts.validate("chat-completion-chunk", chunk)
    assert len(chunks) == 13
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)


@HOW
def test_no_done(served: tuple[AINativeMock, ServerThread], how: str) -> None:
    mock, thread = served
    result = send_with_fault(mock, thread.port, "no_done", how)
    assert result.complete and not result.closed_early
    assert DONE not in result.body
    chunks = check_stream(result.body, done=False)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@HOW
def test_slow_first_token(served: tuple[AINativeMock, ServerThread], how: str) -> None:
    mock, thread = served
    result = send_with_fault(mock, thread.port, "slow_first_token", how, ms=300)
    assert result.complete
    chunks = check_stream(result.body)
    first_content = next(i for i, c in enumerate(chunks) if c["choices"][0]["delta"].get("content"))
    assert first_content == 1
    role_time, content_time = result.events[0][0], result.events[first_content][0]
    assert role_time < 0.2, role_time  # the role event is not held back
    assert content_time >= 0.3, (role_time, content_time)  # times count from when the request was sent
    assert content_time - role_time >= 0.3 - 0.2


def test_client_disconnect_is_charged_for_what_was_sent(served: tuple[AINativeMock, ServerThread]) -> None:
    mock, thread = served
    mock.state.update_config({"tokens_per_second": 50})
    body = chat_body("count to 60", stream=True)
    read = []
    with httpx.Client(base_url=thread.base_url) as client:
        with client.stream("POST", CHAT, headers=headers(), json=body) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line:
                    read.append(json.loads(line.removeprefix("data: ")))
                if len(read) == 6:
                    break
        entry = wait_for_entries(mock, 1)[-1]
        balance = check_response(client.get(BALANCE, headers=headers()))
    for chunk in read:
        contracts.validate("chat-completion-chunk", chunk)
    assert entry.disconnected
    usage = entry.usage
    full = usage["total_tokens"] * PRICE
    tokens_sent = entry.chunks_sent - 1  # the role event carries none, every other event one
    assert 6 <= entry.chunks_sent < 62
    assert entry.charged == pytest.approx((usage["prompt_tokens"] + tokens_sent) * PRICE)
    assert (usage["prompt_tokens"] + 5) * PRICE <= entry.charged < full
    assert balance["used_credits"] == pytest.approx(entry.charged, abs=1e-9)
    assert balance["remaining_credits"] == pytest.approx(1_000_000 - entry.charged, abs=1e-6)


def test_set_credits_during_a_stream_then_disconnect_keeps_the_balance_valid(
    served: tuple[AINativeMock, ServerThread],
) -> None:
    """A stream reserves its full cost; credits are reset while it runs; the client then leaves.

    The refund of the unsent part belongs to the old period: the new balance must stay a valid
    credits-balance body (used_credits >= 0, remaining <= total).
    """
    mock, thread = served
    mock.state.update_config({"tokens_per_second": 50})
    with httpx.Client(base_url=thread.base_url) as client:
        with client.stream("POST", CHAT, headers=headers(), json=chat_body("count to 60", stream=True)) as response:
            lines = response.iter_lines()
            for _ in range(6):
                next(lines)
            mock.state.set_credits(100, KEY)
        wait_for_entries(mock, 1)
        balance = client.get(BALANCE, headers=headers()).json()
    assert balance["used_credits"] >= 0, balance
    assert balance["remaining_credits"] <= balance["total_credits"], balance
    contracts.validate("credits-balance", balance)


def test_a_paced_stream_read_to_the_end_is_not_journalled_as_disconnected(
    served: tuple[AINativeMock, ServerThread],
) -> None:
    mock, thread = served
    mock.state.update_config({"tokens_per_second": 200})
    result = raw_post(thread.port, chat_body(PROMPT, stream=True))
    assert result.complete
    check_stream(result.body)
    entry = entry_for(mock, result)
    assert entry.chunks_sent == len(result.events) == 15
    assert entry.charged == pytest.approx(entry.usage["total_tokens"] * PRICE)
    assert entry.disconnected is False, "the client read every event; the journal says it went away"
