"""Pacing on a real uvicorn socket: time to first token and tokens per second, measured by the client."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable

import httpx
import pytest

from mockserver.testing import ServedMock
from tests.support.chat import BODY, HEADERS
from tests.support.checks import check_stream

pytestmark = pytest.mark.socket

TWENTY_TOKENS = " ".join(f"w{i}" for i in range(20))


def _timed_stream(served: ServedMock) -> tuple[float, list[tuple[float, bytes]]]:
    """POST a streaming request; return the send time and each complete SSE event with its arrival time."""
    events: list[tuple[float, bytes]] = []
    buffer = b""
    with httpx.Client(base_url=served.base_url, timeout=10) as client:
        warm = client.post("/v1/chat/completions", json={**BODY, "stream": True}, headers=HEADERS)
        assert warm.status_code == 200  # connected and warmed up: the measured request pays for neither
        served.state.reply(TWENTY_TOKENS)
        sent = time.perf_counter()
        with client.stream("POST", "/v1/chat/completions", json={**BODY, "stream": True}, headers=HEADERS) as r:
            assert r.status_code == 200
            for piece in r.iter_raw():
                now = time.perf_counter()
                buffer += piece
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    events.append((now, event + b"\n\n"))
    assert buffer == b""
    check_stream(b"".join(e for _, e in events))
    return sent, events


def _first_content(events: list[tuple[float, bytes]]) -> float:
    return next(t for t, e in events if b'"delta":{"content"' in e)


def test_twenty_tokens_at_forty_per_second_take_half_a_second(serve_mock: Callable[..., ServedMock]) -> None:
    served = serve_mock(tokens_per_second=40)
    _, events = _timed_stream(served)
    content = [t for t, e in events if b'"delta":{"content"' in e]
    assert len(content) == 20
    duration = events[-1][0] - _first_content(events)
    assert 0.45 <= duration <= 0.55, f"stream took {duration:.3f}s, expected 0.5s +- 10%"


def test_tokens_arrive_evenly_spaced(serve_mock: Callable[..., ServedMock]) -> None:
    served = serve_mock(tokens_per_second=40)
    _, events = _timed_stream(served)
    content = [t for t, e in events if b'"delta":{"content"' in e]
    gaps = [round((b - a) * 1000, 1) for a, b in itertools.pairwise(content)]
    # Tokens are scheduled on absolute times, so one late gap is followed by a short one: judge the
    # median (robust to a busy CI machine) and bound the worst gap.
    assert 22 <= statistics.median(gaps) <= 28, f"gaps between tokens (ms), expected 25: {gaps}"
    assert max(gaps) <= 75, f"a token waited far too long: {gaps}"
    assert len(gaps) == 19


@pytest.mark.parametrize("ttft_ms", [0, 300])
def test_first_content_chunk_waits_for_ttft(serve_mock: Callable[..., ServedMock], ttft_ms: int) -> None:
    served = serve_mock(ttft_ms=ttft_ms, tokens_per_second=40)
    sent, events = _timed_stream(served)
    ttft = (_first_content(events) - sent) * 1000
    assert ttft_ms - 5 <= ttft <= ttft_ms + 20, f"first content after {ttft:.1f} ms, expected {ttft_ms} +- 20"
    role = (events[0][0] - sent) * 1000
    assert role <= 20, f"the role chunk arrived after {role:.1f} ms; it should not wait"
    duration = events[-1][0] - _first_content(events)
    assert 0.45 <= duration <= 0.55, f"stream took {duration:.3f}s after the first token"


def test_unpaced_stream_is_immediate(served: ServedMock) -> None:
    sent, events = _timed_stream(served)
    assert events[-1][0] - sent < 0.2
