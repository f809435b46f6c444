"""Fault descriptions, the fault queue, the seeded generator's unit behaviour, and the pipeline's fault order."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mockserver.faults import (
    FAULT_NAMES,
    STREAM_FAULTS,
    Fault,
    FaultError,
    FaultQueue,
    SeededFaults,
    make_fault,
    parse_fault,
)
from tests.support.chat import CHAT, chat_body, headers
from tests.support.checks import check_response
from tests.support.mocks import new_mock


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("429", Fault("http_error", status=429, retry_after=1, source="header")),
        ("503", Fault("http_error", status=503, retry_after=1, source="header")),
        ("500", Fault("http_error", status=500, source="header")),
        ("http_error; status=429; retry_after=7", Fault("http_error", status=429, retry_after=7, source="header")),
        ("disconnect; after_chunks=3", Fault("disconnect", after_chunks=3, source="header")),
        ("  stall ; ms=250 ;after_chunks = 2 ; ", Fault("stall", ms=250.0, after_chunks=2, source="header")),
        ("slow_first_token; ms=300", Fault("slow_first_token", ms=300.0, source="header")),
        ("no_done", Fault("no_done", source="header")),
        ("latency; ms=1.5", Fault("latency", ms=1.5, source="header")),
    ],
)
def test_parse_fault(text: str, expected: Fault) -> None:
    assert parse_fault(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("explode", "unknown fault 'explode'"),
        ("http_error", "needs a status"),
        ("399", "outside 400..599"),
        ("600", "outside 400..599"),
        ("disconnect; after_chunks=-1", "after_chunks='-1' is outside 0.."),
        ("disconnect; after_chunks=many", "after_chunks must be a number"),
        ("stall; ms=600001", "outside 0..600000"),
        ("stall; speed=2", "unknown parameter(s) ['speed']"),
        ("stall; ms", "is not key=value"),
    ],
)
def test_bad_fault_descriptions_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FaultError) as caught:
        parse_fault(text)
    assert message in str(caught.value)


def test_make_fault_rejects_booleans_and_keeps_the_source() -> None:
    with pytest.raises(FaultError):
        make_fault("stall", {"ms": True})
    fault = make_fault("error_frame", {"after_chunks": 0}, source="queue")
    assert (fault.after_chunks, fault.source, fault.stream_only) == (0, "queue", True)
    assert fault.as_dict() == {"fault": "error_frame", "after_chunks": 0}


def test_every_documented_fault_name_is_known_and_stream_faults_are_marked() -> None:
    assert set(FAULT_NAMES) == {"http_error", "latency", *STREAM_FAULTS}
    assert not make_fault("latency").stream_only
    assert all(make_fault(name).stream_only for name in STREAM_FAULTS)


def take(queue: FaultQueue, model: str, route: str, stream: bool) -> Fault | None:
    """Use the queued fault this request would get, as the chat pipeline does (peek, then commit)."""
    entry = queue.peek(model, route, stream)
    return entry.fault if entry is not None and queue.commit(entry) else None


def test_queue_serves_faults_in_order_and_counts_down() -> None:
    queue = FaultQueue()
    queue.push(make_fault("500"), times=2)
    queue.push(make_fault("503"))
    taken = [take(queue, "m", "/r", stream=False) for _ in range(4)]
    assert [f.status if f else None for f in taken] == [500, 500, 503, None]
    assert queue.pending() == []


def test_queue_filters_by_model_route_and_streaming() -> None:
    queue = FaultQueue()
    queue.push(make_fault("disconnect"))
    queue.push(make_fault("429"), model="gpt-4o")
    queue.push(make_fault("500"), route="/v1/chat/completions")
    assert take(queue, "claude", "/api/v1/chat/completions", stream=False) is None
    assert queue.pending()[0] == {"fault": "disconnect", "remaining": 1, "model": None, "route": None}
    assert take(queue, "claude", "/v1/chat/completions", stream=False).status == 500  # type: ignore[union-attr]
    assert take(queue, "gpt-4o", "/api/v1/chat/completions", stream=True).name == "disconnect"  # type: ignore[union-attr]
    assert take(queue, "gpt-4o", "/api/v1/chat/completions", stream=False).status == 429  # type: ignore[union-attr]
    assert queue.pending() == []


def test_queue_refuses_zero_times_and_clears() -> None:
    queue = FaultQueue()
    with pytest.raises(FaultError):
        queue.push(make_fault("500"), times=0)
    queue.push(make_fault("500"), times=3)
    queue.clear()
    assert take(queue, "m", "/r", stream=False) is None


def test_seeded_faults_rate_zero_and_one() -> None:
    never = SeededFaults(1, 0.0, ("500",))
    assert all(never.draw(stream=True) is None for _ in range(200))
    always = SeededFaults(1, 1.0, ("500", "503"))
    drawn = [always.draw(stream=False) for _ in range(200)]
    assert {f.status for f in drawn if f} == {500, 503}
    assert None not in drawn


def test_seeded_stream_faults_skip_non_streaming_requests_without_shifting_the_sequence() -> None:
    a = SeededFaults(7, 0.5, ("disconnect", "500"))
    b = SeededFaults(7, 0.5, ("disconnect", "500"))
    pattern = [i % 3 == 0 for i in range(300)]
    seq_a = [a.draw(stream=s) for s in pattern]
    seq_b = [b.draw(stream=True) for _ in pattern]
    for streamed, fa, fb in zip(pattern, seq_a, seq_b, strict=True):
        if streamed or fb is None or not fb.stream_only:
            assert fa == fb
        else:
            assert fa is None
    assert any(f is not None and f.source == "rate" for f in seq_a)


# -- where faults sit in the pipeline ---------------------------------------------------------------


@pytest.fixture
def client() -> TestClient:
    """An in-process client of a fresh mock."""
    return TestClient(new_mock().app)


def test_bad_x_mock_fault_header_is_a_400_naming_the_problem(client: TestClient) -> None:
    response = client.post(CHAT, headers=headers(X_Mock_Fault="explode"), json=chat_body())
    assert response.status_code == 400
    body = check_response(response)
    assert "X-Mock-Fault" in body["detail"] and "explode" in body["detail"]


def test_header_fault_beats_the_queue_and_leaves_it_untouched(client: TestClient) -> None:
    state = client.app.state.mock.state  # type: ignore[attr-defined]
    state.fail_next(500)
    response = client.post(CHAT, headers=headers(X_Mock_Fault="503"), json=chat_body())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    check_response(response)
    assert len(state.pending()["faults"]) == 1
    assert client.post(CHAT, headers=headers(), json=chat_body()).status_code == 500
    assert client.post(CHAT, headers=headers(), json=chat_body()).status_code == 200
    faults = [entry.fault for entry in state.requests()]
    assert faults == [
        {"fault": "http_error", "status": 503, "retry_after": 1, "source": "header"},
        {"fault": "http_error", "status": 500, "source": "queue"},
        None,
    ]


def test_a_queued_stream_fault_waits_for_a_streaming_request(client: TestClient) -> None:
    state = client.app.state.mock.state  # type: ignore[attr-defined]
    state.queue_fault("no_done")
    plain = client.post(CHAT, headers=headers(), json=chat_body())
    assert plain.status_code == 200
    check_response(plain)
    assert state.pending()["faults"][0]["fault"] == "no_done"
    streamed = client.post(CHAT, headers=headers(), json=chat_body(stream=True))
    assert not streamed.content.endswith(b"data: [DONE]\n\n")
    assert state.pending()["faults"] == []


def test_errors_from_faults_do_not_charge_and_do_not_use_scripted_replies(client: TestClient) -> None:
    state = client.app.state.mock.state  # type: ignore[attr-defined]
    state.reply("scripted answer")
    state.fail_next(502)
    failed = client.post(CHAT, headers=headers(), json=chat_body())
    assert failed.status_code == 502
    check_response(failed)
    assert state.ledger.account(headers()["X-API-Key"]).used == 0
    answer = check_response(client.post(CHAT, headers=headers(), json=chat_body()))
    assert answer["choices"][0]["message"]["content"] == "scripted answer"


def test_latency_fault_delays_then_answers_normally(client: TestClient) -> None:
    response = client.post(CHAT, headers=headers(X_Mock_Fault="latency; ms=150"), json=chat_body())
    assert response.status_code == 200
    check_response(response)
    entry = client.app.state.mock.state.requests()[-1]  # type: ignore[attr-defined]
    assert entry.duration_ms >= 150
    assert entry.fault == {"fault": "latency", "ms": 150.0, "source": "header"}


def test_in_process_httpx_client_sees_a_disconnect_fault_as_a_protocol_error() -> None:
    """Through InProcessMock's httpx client a planned disconnect must look like one on a socket, not crash."""
    import httpx

    from mockserver.testing import InProcessMock

    with InProcessMock() as mock:
        client = mock.httpx_client()
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(CHAT, headers={**mock.headers, "X-Mock-Fault": "disconnect"}, json=chat_body(stream=True))
