"""The proxy forwards requests unchanged and returns answers byte for byte, streams as they arrive."""

from __future__ import annotations

import json
import re
import statistics
import time
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.socket

KEY = "sk_live_forwarding_key_0001"
CHAT = "/api/v1/chat/completions"


def _chat(stream: bool = False, **extra: Any) -> dict[str, Any]:
    body = {"model": "upstream-model", "messages": [{"role": "user", "content": "bonjour le monde"}], "stream": stream}
    return {**body, **extra}


def test_json_answer_is_byte_identical_and_request_forwarded_unchanged(upstream, start_proxy) -> None:
    app, direct_url = upstream
    _, proxy_url = start_proxy(direct_url)
    content = json.dumps(_chat(), ensure_ascii=False, indent=1).encode()  # odd spacing: must arrive as sent
    headers = {
        "X-API-Key": KEY,
        "Authorization": "Bearer tok.en.value",
        "X-Custom": "kept",
        "Content-Type": "application/json",
    }
    direct = httpx.post(f"{direct_url}{CHAT}?trace=1&a=b", content=content, headers=headers)
    proxied = httpx.post(f"{proxy_url}{CHAT}?trace=1&a=b", content=content, headers=headers)
    assert proxied.status_code == direct.status_code == 200
    # the request ids differ per request; everything else is the same bytes
    assert proxied.content.replace(b"_2", b"_1") == direct.content
    assert "é" in proxied.text and ", " in proxied.text  # not re-encoded
    assert proxied.headers["set-cookie"] == direct.headers["set-cookie"]
    assert proxied.headers["x-contract-violations"] == "0"
    first, second = app.received
    assert (second.method, second.path, second.query, second.body) == (
        first.method,
        first.path,
        first.query,
        first.body,
    )
    for name in ("x-api-key", "authorization", "x-custom", "content-type"):
        assert second.header(name) == first.header(name)


def test_other_methods_and_errors_pass_through(upstream, start_proxy) -> None:
    _, direct_url = upstream
    _, proxy_url = start_proxy(direct_url)
    for method, path, headers in (
        ("GET", "/api/v1/public/credits/balance", {"X-API-Key": KEY}),
        ("GET", "/v1/models", {"X-API-Key": KEY}),
        ("POST", CHAT, {}),
        ("GET", "/nowhere", {"X-API-Key": KEY}),
    ):
        direct = httpx.request(method, direct_url + path, headers=headers, json=_chat())
        proxied = httpx.request(method, proxy_url + path, headers=headers, json=_chat())
        assert (proxied.status_code, proxied.json()) == (direct.status_code, direct.json()), path


def test_stream_is_byte_identical(upstream, start_proxy) -> None:
    _, direct_url = upstream
    _, proxy_url = start_proxy(direct_url)
    body = _chat(stream=True, stream_options={"include_usage": True})
    direct = httpx.post(direct_url + CHAT, json=body, headers={"X-API-Key": KEY})
    proxied = httpx.post(proxy_url + CHAT, json=body, headers={"X-API-Key": KEY})
    assert proxied.headers["content-type"].startswith("text/event-stream")
    assert "x-contract-violations" not in proxied.headers
    assert proxied.content.replace(b"_2", b"_1") == direct.content
    assert proxied.content.endswith(b"data: [DONE]\n\n")


def test_paced_stream_first_event_arrives_as_the_upstream_sends_it(upstream, start_proxy) -> None:
    app, direct_url = upstream
    app.pace_s = 0.25
    _, proxy_url = start_proxy(direct_url)
    arrivals: list[float] = []
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", proxy_url + CHAT, json=_chat(stream=True), headers={"X-API-Key": KEY}) as response,
    ):
        buffer = b""
        for piece in response.iter_raw():
            now = time.perf_counter()
            buffer += piece
            while b"\n\n" in buffer:
                _, buffer = buffer.split(b"\n\n", 1)
                arrivals.append(now)
    sent = app.sent_at
    assert len(arrivals) == len(sent) >= 8
    lag_ms = (arrivals[0] - sent[0]) * 1000
    assert lag_ms < 50, f"first event reached the client {lag_ms:.1f} ms after the upstream sent it"
    assert arrivals[0] < sent[-1] - 1.0  # long before the stream ends
    lags = [(a - s) * 1000 for a, s in zip(arrivals, sent, strict=True)]
    assert statistics.median(lags) < 50, f"events were held back: lags {[round(x) for x in lags]} ms"


def test_unreachable_upstream_is_a_502_with_a_json_body(start_proxy) -> None:
    _, proxy_url = start_proxy("http://127.0.0.1:9")
    response = httpx.post(proxy_url + CHAT, json=_chat(), headers={"X-API-Key": KEY})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unreachable"


def test_a_client_that_hangs_up_stops_the_upstream_stream(upstream, start_proxy, tmp_path, caplog) -> None:
    caplog.set_level("INFO", logger="mockserver.proxy")
    app, direct_url = upstream
    app.pace_s = 0.2
    proxy, proxy_url = start_proxy(direct_url, record=tmp_path / "cassettes")
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", proxy_url + CHAT, json=_chat(stream=True), headers={"X-API-Key": KEY}) as response,
    ):
        for piece in response.iter_raw():
            if piece.count(b"\n\n") >= 1:
                break  # leave after the first event
    deadline = time.monotonic() + 5
    while not app.disconnected and time.monotonic() < deadline:
        time.sleep(0.02)
    assert app.disconnected, "the proxy kept the upstream stream open after its client left"
    assert len(app.sent_at) < 5  # of 10 events: the upstream stopped
    assert not (tmp_path / "cassettes").exists()  # a cut stream is not recorded ...
    assert proxy.report.exchanges == 0  # ... nor judged
    while "the client left" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert re.search(r"POST /api/v1/chat/completions -> 200, the client left after [1-4] event", caplog.text)


def test_a_stream_the_upstream_breaks_off_reaches_the_client_broken(upstream, start_proxy, tmp_path) -> None:
    app, direct_url = upstream
    app.defect = "break-stream"
    proxy, proxy_url = start_proxy(direct_url, record=tmp_path / "cassettes")
    seen: dict[str, bytes] = {}
    for name, url in (("direct", direct_url), ("proxy", proxy_url)):
        received = b""
        with (
            httpx.Client(timeout=30) as client,
            client.stream("POST", url + CHAT, json=_chat(stream=True), headers={"X-API-Key": KEY}) as response,
            pytest.raises(httpx.RemoteProtocolError),  # as directly: an incomplete body, not a clean end
        ):
            for piece in response.iter_raw():
                received += piece
        seen[name] = received
    assert seen["proxy"].count(b"\n\n") == seen["direct"].count(b"\n\n") == 2  # what came, came through
    assert proxy.report.exchanges == 0 and not (tmp_path / "cassettes").exists()  # neither judged nor recorded
