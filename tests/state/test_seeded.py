"""Seeded faults: the same seed and the same requests give the same faults; another seed gives others."""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import TestClient

import contracts
from mockserver.app import AINativeMock
from mockserver.config import load_config
from tests.support.chat import CHAT, chat_body, headers
from tests.support.checks import check_response, sse_payloads

PROMPTS = ("hi", "count to 7", "Tell me about seeded faults", "What is a token bucket?")


def requests_sequence() -> list[dict[str, Any]]:
    """200 chat bodies, every third one streamed."""
    return [chat_body(PROMPTS[i % len(PROMPTS)], stream=i % 3 == 0, include_usage=i % 6 == 0) for i in range(200)]


def run(seed: int, sequence: list[dict[str, Any]]) -> tuple[list[int], list[Any], AINativeMock]:
    """Send ``sequence`` to a fresh mock started like ``--seed S --fault-rate 0.3 --faults 429,500,503,disconnect``."""
    config = load_config(cli={"seed": seed, "fault_rate": "0.3", "faults": ["429,500,503,disconnect"]}, env={})
    mock = AINativeMock(config)
    with TestClient(mock.app) as client:
        for body in sequence:
            response = client.post(CHAT, headers=headers(), json=body)
            entry = mock.state.requests()[-1]
            assert entry.status == response.status_code
            if entry.fault is not None and entry.fault["fault"] == "disconnect":
                payloads = sse_payloads(response.content)
                assert len(payloads) == entry.chunks_sent == 2  # the default after_chunks
                for payload in payloads:
                    contracts.validate("chat-completion-chunk", json.loads(payload))
            else:
                check_response(response)
    entries = mock.state.requests()
    assert len(entries) == len(sequence)
    return [e.status for e in entries], [e.fault for e in entries], mock


def test_same_seed_same_statuses_and_faults_other_seed_differs() -> None:
    sequence = requests_sequence()
    statuses, faults, mock = run(1234, sequence)
    again_statuses, again_faults, _ = run(1234, sequence)
    assert again_statuses == statuses
    assert again_faults == faults

    other_statuses, other_faults, _ = run(4321, sequence)
    assert (other_statuses, other_faults) != (statuses, faults)
    assert other_faults != faults

    # the draw is what it claims: about 30 %, every kind, stream faults on streams only, statuses to match
    drawn = [f for f in faults if f is not None]
    assert 35 <= len(drawn) <= 85, len(drawn)
    kinds = {f.get("status", f["fault"]) for f in drawn}
    assert kinds == {429, 500, 503, "disconnect"}
    for body, status, fault in zip(sequence, statuses, faults, strict=True):
        if fault is None:
            assert status == 200
            continue
        assert fault["source"] == "rate"
        if fault["fault"] == "disconnect":
            assert body.get("stream") is True
            assert status == 200
        else:
            assert status == fault["status"]
    charged = [e.charged for e in mock.state.requests() if e.status != 200]
    assert charged and all(c == 0 for c in charged)


def test_reset_restarts_the_seeded_sequence() -> None:
    sequence = requests_sequence()[:60]
    config = load_config(cli={"seed": 99, "fault_rate": "0.3", "faults": ["429,500,503,disconnect"]}, env={})
    mock = AINativeMock(config)
    with TestClient(mock.app) as client:
        for body in sequence:
            client.post(CHAT, headers=headers(), json=body)
        first = [e.fault for e in mock.state.requests()]
        mock.state.reset()
        for body in sequence:
            client.post(CHAT, headers=headers(), json=body)
        assert [e.fault for e in mock.state.requests()] == first
        assert any(first)


def test_header_faults_do_not_consume_seeded_draws() -> None:
    """Requests answered by a header fault do not shift the seeded sequence of the others."""
    sequence = requests_sequence()[:40]
    _, plain, _ = run(5, sequence)
    config = load_config(cli={"seed": 5, "fault_rate": "0.3", "faults": ["429,500,503,disconnect"]}, env={})
    mock = AINativeMock(config)
    with TestClient(mock.app) as client:
        for i, body in enumerate(sequence):
            if i % 10 == 5:
                client.post(CHAT, headers=headers(X_Mock_Fault="latency; ms=0"), json=body)
            client.post(CHAT, headers=headers(), json=body)
    seeded = [e.fault for e in mock.state.requests() if e.fault is None or e.fault["source"] != "header"]
    assert seeded == plain
