"""Record through the proxy, then replay with ``serve --cassettes``: same bodies, same events, same pace."""

from __future__ import annotations

import itertools
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.app import AINativeMock
from mockserver.config import ConfigError, MockConfig, load_config
from mockserver.server import ServerThread

pytestmark = pytest.mark.socket

KEY = "sk_live_replay_key_0001"
CHAT = "/v1/chat/completions"
PACE_S = 0.15


def _chat(content: str = "tell me a story", stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "upstream-model", "messages": [{"role": "user", "content": content}]}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


def _timed_events(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[list[str], list[float], int]:
    """The data of each event and when it arrived (perf_counter), read as it comes."""
    data: list[str] = []
    arrivals: list[float] = []
    with httpx.Client(timeout=30) as client, client.stream("POST", url, json=body, headers=headers) as response:
        buffer = b""
        for piece in response.iter_raw():
            now = time.perf_counter()
            buffer += piece
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                data.append(block.decode().removeprefix("data: "))
                arrivals.append(now)
        return data, arrivals, response.status_code


@pytest.fixture
def recorded(upstream, start_proxy, tmp_path) -> tuple[Path, dict[str, Any]]:
    """A cassette directory recorded through the proxy from the paced upstream, and what the client saw."""
    app, direct_url = upstream
    app.pace_s, app.words = PACE_S, 8
    record = tmp_path / "cassettes"
    _, proxy_url = start_proxy(direct_url, record=record)
    seen: dict[str, Any] = {}
    seen["json"] = httpx.post(proxy_url + CHAT, json=_chat(), headers={"X-API-Key": KEY}).content
    seen["events"], seen["arrivals"], _ = _timed_events(proxy_url + CHAT, _chat(stream=True), {"X-API-Key": KEY})
    app.defect = "no-retry-after"
    limited = {**_chat(), "model": "limited"}
    seen["limited"] = httpx.post(proxy_url + CHAT, json=limited, headers={"X-API-Key": KEY})
    assert len(list(record.iterdir())) == 3
    return record, seen


@pytest.fixture
def replay_server() -> Iterator[Any]:
    """Factory: ``replay_server(**MockConfig fields)`` -> base URL of a served mock, stopped at teardown."""
    servers: list[ServerThread] = []

    def start(**settings: Any) -> str:
        server = ServerThread(AINativeMock(MockConfig(**settings)).app).start()
        servers.append(server)
        return server.base_url

    yield start
    for server in servers:
        server.stop()


def test_replay_gives_the_recorded_bodies_events_and_pace(recorded, replay_server) -> None:
    record, seen = recorded
    url = replay_server(cassettes=str(record), replay="strict")
    replayed = httpx.post(url + CHAT, json=_chat(), headers={"X-API-Key": KEY})
    assert replayed.status_code == 200
    assert replayed.content == seen["json"]  # byte for byte what the real API sent
    assert replayed.headers["x-request-id"].startswith("req_")

    events, arrivals, status = _timed_events(url + CHAT, _chat(stream=True), {"X-API-Key": KEY})
    assert status == 200
    assert events == seen["events"]
    assert len(events) >= 10
    cassette = next(json.loads(p.read_text()) for p in record.iterdir() if "events" in p.read_text())
    recorded_gaps = [e["delay_ms"] for e in cassette["response"]["events"]][1:]
    replay_gaps = [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
    assert len(replay_gaps) == len(recorded_gaps)
    paced = [(r, p) for r, p in zip(recorded_gaps, replay_gaps, strict=True) if r >= PACE_S * 500]
    assert len(paced) >= 8  # the paced gaps (events sent together keep ~0 ms gaps)
    errors = [abs(p - r) / r for r, p in paced]
    # Each gap within 10 % at the median, and the whole stream too; a loaded CI machine may delay a single event.
    assert statistics.median(errors) <= 0.10, (recorded_gaps, replay_gaps)
    assert sum(p for _, p in paced) == pytest.approx(sum(r for r, _ in paced), rel=0.10)
    assert statistics.median(recorded_gaps) == pytest.approx(PACE_S * 1000, rel=0.10)


def test_a_recorded_error_replays_as_recorded(recorded, replay_server) -> None:
    record, seen = recorded
    url = replay_server(cassettes=str(record))
    replayed = httpx.post(url + CHAT, json={**_chat(), "model": "limited"}, headers={"X-API-Key": KEY})
    assert replayed.status_code == 429
    assert replayed.content == seen["limited"].content


def test_replay_speed_zero_plays_as_fast_as_possible(recorded, replay_server) -> None:
    record, seen = recorded
    url = replay_server(cassettes=str(record), replay_speed=0)
    events, arrivals, _ = _timed_events(url + CHAT, _chat(stream=True), {"X-API-Key": KEY})
    assert events == seen["events"]
    assert arrivals[-1] - arrivals[0] < PACE_S  # the recording took > 10 x PACE_S


@pytest.mark.parametrize("style", ["detail", "openai"])
def test_strict_miss_names_the_nearest_cassette_and_the_differing_field(recorded, replay_server, style) -> None:
    record, _ = recorded
    url = replay_server(cassettes=str(record), replay="strict", error_style=style)
    response = httpx.post(url + CHAT, json=_chat("tell me a poem"), headers={"X-API-Key": KEY})
    assert response.status_code == 400
    body = response.json()
    message = body["detail"] if style == "detail" else body["error"]["message"]
    json_cassette = next(
        p.name for p in record.iterdir() if '"events"' not in p.read_text() and "limited" not in p.read_text()
    )
    assert json_cassette in message
    assert "messages[0].content" in message
    assert '"tell me a story"' in message and '"tell me a poem"' in message
    if style == "openai":
        assert body["error"]["code"] == "no_matching_cassette"
    other_model = httpx.post(url + CHAT, json={**_chat(), "model": "other-model"}, headers={"X-API-Key": KEY})
    assert other_model.status_code == 400 and "differs in model" in other_model.text


def test_fallback_miss_gets_the_usual_generated_reply(recorded, replay_server) -> None:
    record, seen = recorded
    url = replay_server(cassettes=str(record), replay="fallback", default_model="claude-3-5-sonnet-20241022")
    generated = httpx.post(url + CHAT, json={**_chat("tell me a poem"), "model": "claude-3-5-sonnet-20241022"},
                           headers={"X-API-Key": KEY})  # fmt: skip
    assert generated.status_code == 200
    assert generated.json()["object"] == "chat.completion" and generated.content != seen["json"]
    assert httpx.post(url + CHAT, json=_chat(), headers={"X-API-Key": KEY}).content == seen["json"]


def test_replay_charges_recorded_usage_and_limits_and_faults_apply(recorded, replay_server) -> None:
    record, seen = recorded
    usage = json.loads(seen["json"])["usage"]
    url = replay_server(cassettes=str(record), credits=usage["total_tokens"] + 1, rpm=2)
    auth = {"X-API-Key": KEY}
    balance = "/api/v1/public/credits/balance"
    assert httpx.get(url + balance, headers=auth).json()["used_credits"] == 0
    assert httpx.post(url + CHAT, json=_chat(), headers=auth).status_code == 200
    assert httpx.get(url + balance, headers=auth).json()["used_credits"] == usage["total_tokens"]
    assert httpx.post(url + CHAT, json=_chat(), headers=auth).status_code == 402  # 1 credit left
    assert httpx.post(url + CHAT, json=_chat(), headers=auth).status_code == 429  # rpm 2 (the 402 counted)
    other = {"X-API-Key": "sk_live_replay_key_0002"}
    faulted = httpx.post(url + CHAT, json=_chat(), headers={**other, "X-Mock-Fault": "http_error; status=503"})
    assert faulted.status_code == 503
    with pytest.raises(httpx.RemoteProtocolError):  # a stream fault cuts the recorded stream
        httpx.post(url + CHAT, json=_chat(stream=True), headers={**other, "X-Mock-Fault": "disconnect; after_chunks=2"})


def test_replay_settings_are_validated(tmp_path) -> None:
    config = load_config({"cassettes": str(tmp_path), "replay": "fallback", "replay_speed": "0.5"}, env={})
    assert (config.cassettes, config.replay, config.replay_speed) == (str(tmp_path), "fallback", 0.5)
    with pytest.raises(ConfigError, match="replay"):
        load_config({"replay": "sometimes"}, env={})
    with pytest.raises(ConfigError, match="replay_speed"):
        load_config({"replay_speed": "-1"}, env={})
    match = load_config({"replay_match": "route,model"}, env={})
    assert match.replay_match == ("route", "model")


@pytest.mark.slow
def test_serve_cassettes_from_the_shell(recorded) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys

    record, seen = recorded
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--cassettes", str(record), "--replay", "strict",
         "--replay-speed", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
        banner = "".join(lines)
        assert "Replaying 3 cassette(s)" in banner, banner
        base = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
        assert base, banner
        deadline = time.monotonic() + 10
        while True:
            try:
                replayed = httpx.post(base.group(1) + CHAT, json=_chat(), headers={"X-API-Key": KEY})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert replayed.content == seen["json"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
