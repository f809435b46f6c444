"""Clients that vanish mid-stream, half-open connections and slow readers, on a real socket.

In-process transports buffer whole bodies, so none of this can be seen without uvicorn on
127.0.0.1. Streams are paced (50 tokens per second) so that a client can leave in the middle.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
from typing import Any

import pytest

from mockserver.testing import ServedMock
from tests.support.chat import CHAT_PATH, HEADERS, chat_bytes
from tests.support.mocks import ServeFactory
from tests.support.raw_http import abort, connect, get, open_stream, post, request_head
from tests.support.server_insides import LogsFactory, connection_count, server_tasks, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.socket]

LONG_REPLY = " ".join(f"word{i}" for i in range(100))
"""A scripted reply of 100 tokens: two seconds at 50 tokens per second."""
REPLY_TOKENS = 100
STREAM_EVENTS = REPLY_TOKENS + 3
"""Role event, one event per token, the finish event and ``[DONE]``."""


def settle(mock: ServedMock, tasks: list[str], connections: int) -> tuple[list[str], int]:
    """Wait (at most 3 s each) until the server's tasks and connections are back to the given baseline."""
    left_connections = wait_for(lambda: connection_count(mock.server), lambda n: n <= connections, timeout=3)
    left_tasks = wait_for(lambda: server_tasks(mock.server), lambda now: len(now) <= len(tasks), timeout=3)
    return left_tasks, left_connections


def idle_baseline(mock: ServedMock) -> tuple[list[str], int]:
    """Tasks and connections of the idle server after one request has warmed it up; then a fresh ledger."""
    assert post(mock.server.port, chat_bytes(max_tokens=4)).status == 200
    connections = wait_for(lambda: connection_count(mock.server), lambda n: n == 0, timeout=3)
    tasks = server_tasks(mock.server)
    mock.reset()
    return tasks, connections


def used_credits(mock: ServedMock) -> Any:
    """``used_credits`` of :data:`KEY` as the balance endpoint reports it."""
    response = get(mock.server.port, "/v1/public/credits/balance")
    assert response.status == 200, response.body[:300]
    return response.json()["used_credits"]


def expected_charge(prompt_tokens: int, events_sent: int) -> int:
    """Credits for a cut stream at 1 credit per token: the prompt plus one token per content event sent."""
    content_events = max(min(events_sent - 1, REPLY_TOKENS), 0)  # the first event (role) carries no token
    return prompt_tokens + content_events


@pytest.mark.slow
def test_clients_vanishing_mid_stream_are_charged_for_what_was_sent_and_leak_nothing(
    serve: ServeFactory, server_logs: LogsFactory
) -> None:
    mock = serve(tokens_per_second=50)
    idle_tasks, idle_connections = idle_baseline(mock)
    logs = server_logs()
    for _ in range(20):
        mock.reply(LONG_REPLY)
    port = mock.server.port

    streams = [open_stream(port, chat_bytes(stream=True, max_tokens=1000)) for _ in range(20)]
    received = []
    for index, stream in enumerate(streams):
        received.append(len(stream.read_events(1 + index % 5)))
    for index, stream in enumerate(streams):
        stream.vanish(rst=index % 2 == 0)

    # The server keeps serving, at once.
    started = time.monotonic()
    plain = post(port, chat_bytes(max_tokens=8))
    assert plain.status == 200, plain.body[:300]
    assert plain.json()["object"] == "chat.completion"
    assert time.monotonic() - started < 2.0

    # Every cut stream is journalled as cut, charged the prompt plus what was sent, never the whole reply.
    cut = wait_for(
        lambda: {e.request_id: e for e in mock.requests if e.stream and e.disconnected}, lambda by_id: len(by_id) == 20
    )
    assert len(cut) == 20, [(e.status, e.chunks_sent, e.disconnected) for e in mock.requests if e.stream]
    for stream, events_read in zip(streams, received, strict=True):
        entry = cut[stream.request_id]
        assert entry.usage is not None
        assert entry.usage["completion_tokens"] == REPLY_TOKENS
        assert events_read <= entry.chunks_sent < STREAM_EVENTS, f"stream {entry.seq}: {entry}"
        assert entry.charged == expected_charge(entry.usage["prompt_tokens"], entry.chunks_sent), entry
        assert entry.usage["prompt_tokens"] <= entry.charged < entry.usage["total_tokens"]

    # The balance endpoint agrees with the journal, to the credit.
    charged = sum(e.charged for e in mock.requests if e.status == 200 and e.path == CHAT_PATH)
    assert used_credits(mock) == pytest.approx(charged, abs=1e-9)

    # No task and no connection outlives its client.
    tasks, connections = settle(mock, idle_tasks, idle_connections)
    assert len(tasks) <= len(idle_tasks), f"tasks leaked: {sorted(set(tasks) - set(idle_tasks))}"
    assert connections <= idle_connections
    # A client leaving is not a server error.
    assert logs.problems() == [], logs.text()


def test_one_client_leaving_does_not_cut_another_clients_stream(serve: ServeFactory) -> None:
    """Two clients on the same key: one leaves mid-stream, the other reads its stream to the end."""
    mock = serve(tokens_per_second=50)
    mock.reply(LONG_REPLY)
    mock.reply(LONG_REPLY)
    leaving = open_stream(mock.server.port, chat_bytes(stream=True, max_tokens=1000))
    staying = open_stream(mock.server.port, chat_bytes(stream=True, max_tokens=1000))
    leaving.read_events(3)
    leaving.vanish(rst=True)
    events = staying.read_events(STREAM_EVENTS + 5)
    staying.vanish(rst=False)
    assert events[-1] == b"data: [DONE]"
    assert len(events) == STREAM_EVENTS
    entries = wait_for(lambda: [e for e in mock.requests if e.stream], lambda es: len(es) == 2, timeout=5)
    by_cut = {e.disconnected: e for e in entries}
    assert set(by_cut) == {True, False}, entries
    whole = by_cut[False]
    assert whole.chunks_sent == STREAM_EVENTS
    assert whole.charged == whole.usage["total_tokens"]
    assert by_cut[True].charged < whole.charged


@pytest.mark.slow
def test_half_open_connections_do_not_block_others_and_are_released_when_closed(serve: ServeFactory) -> None:
    mock = serve(tokens_per_second=50)
    idle_tasks, idle_connections = idle_baseline(mock)
    port = mock.server.port
    body = chat_bytes(max_tokens=8)
    head = request_head("POST", CHAT_PATH, {**HEADERS, "Content-Type": "application/json"}, content_length=1000)

    half_open = []
    for index in range(20):
        sock = connect(port)
        kind = index % 3
        if kind == 1:  # headers cut in the middle of a name
            sock.sendall(b"POST /v1/public/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-K")
        elif kind == 2:  # a Content-Length of 1000 and 12 bytes of body
            sock.sendall(head + b'{"messages":')
        half_open.append(sock)  # kind 0: connected, silent
    opened = wait_for(lambda: connection_count(mock.server), lambda n: n >= idle_connections + 20, timeout=3)
    assert opened == idle_connections + 20

    # Normal clients are served while the half-open ones hang on.
    for _ in range(5):
        response = post(port, body)
        assert response.status == 200, response.body[:300]
        assert response.elapsed < 2.0
    mock.reply("one two three four five")
    stream = open_stream(port, chat_bytes(stream=True))
    events = stream.read_events(20)
    stream.vanish(rst=False)
    assert events[-1] == b"data: [DONE]"

    for index, sock in enumerate(half_open):
        if index % 2:
            abort(sock)
        else:
            sock.close()
    tasks, connections = settle(mock, idle_tasks, idle_connections)
    assert connections == idle_connections, f"{connections - idle_connections} half-open connection(s) never released"
    assert len(tasks) <= len(idle_tasks), f"tasks leaked: {sorted(set(tasks) - set(idle_tasks))}"

    # An upload that never completed is never charged and never answered as a server error.
    assert all(e.status < 500 for e in mock.requests), [(e.path, e.status) for e in mock.requests]
    charged = sum(e.charged for e in mock.requests if e.status == 200)
    assert charged == sum(e.usage["total_tokens"] for e in mock.requests if e.status == 200 and e.usage)
    assert used_credits(mock) == pytest.approx(charged, abs=1e-9)


@pytest.mark.slow
def test_a_slow_reader_does_not_hold_up_other_clients(serve: ServeFactory) -> None:
    mock = serve(tokens_per_second=50)
    idle_tasks, idle_connections = idle_baseline(mock)
    port = mock.server.port
    long_text = " ".join(f"token{i}" for i in range(400))
    mock.reply(long_text)

    slow = open_stream(port, chat_bytes(stream=True, max_tokens=1000), rcvbuf=2048)

    def others() -> list[float]:
        latencies = []
        for index in range(6):
            started = time.monotonic()
            if index % 3 == 0:
                response = post(port, chat_bytes(max_tokens=8))
            elif index % 3 == 1:
                response = get(port, "/v1/public/credits/balance")
            else:
                response = get(port, "/health")
            assert response.status == 200, response.body[:300]
            json.loads(response.body)
            latencies.append(time.monotonic() - started)
            time.sleep(0.2)
        return latencies

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(others)
        read = 0
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and read < 4000:  # one byte at a time, 5 ms apart
            if not slow.response.read(1):
                break
            read += 1
            time.sleep(0.005)
        latencies = future.result(timeout=15)
    slow.vanish(rst=True)

    assert max(latencies) < 1.0, f"requests waited behind a slow reader: {latencies}"
    entry = wait_for(
        lambda: [e for e in mock.requests if e.stream], lambda entries: bool(entries) and entries[0].disconnected
    )[0]
    assert entry.disconnected
    assert entry.charged < entry.usage["total_tokens"]
    tasks, connections = settle(mock, idle_tasks, idle_connections)
    assert len(tasks) <= len(idle_tasks), f"tasks leaked: {sorted(set(tasks) - set(idle_tasks))}"
    assert connections <= idle_connections
