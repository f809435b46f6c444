"""Queued faults are used only by answered requests; resets drop in-flight entries; limiter edges."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from mockserver import InProcessMock, MockConfig, ServedMock
from mockserver.ratelimit import RateLimiter

STREAM = {"messages": [{"role": "user", "content": "Count to 3"}], "stream": True}


def test_a_queued_stream_fault_is_not_used_up_by_a_refused_request() -> None:
    with InProcessMock(MockConfig(credits=0)) as mock:
        mock.queue_fault("disconnect")
        client = mock.httpx_client()
        assert client.post("/v1/chat/completions", headers=mock.headers, json=STREAM).status_code == 402
        assert [f["fault"] for f in mock.pending()["faults"]] == ["disconnect"]
        mock.set_credits(1000)
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v1/chat/completions", headers=mock.headers, json=STREAM)
        assert mock.pending()["faults"] == []


def test_a_queued_http_error_is_used_by_the_request_it_answers() -> None:
    with InProcessMock() as mock:
        mock.fail_next(503)
        client = mock.httpx_client()
        assert client.post("/v1/chat/completions", headers=mock.headers, json=STREAM).status_code == 503
        assert mock.pending()["faults"] == []
        assert client.post("/v1/chat/completions", headers=mock.headers, json=STREAM).status_code == 200


@pytest.mark.socket
def test_a_stream_still_running_at_reset_is_not_journalled_after_it() -> None:
    with ServedMock() as served:
        served.configure(tokens_per_second=20)
        started, finished = threading.Event(), threading.Event()

        def stream() -> None:
            with httpx.stream(
                "POST",
                served.base_url + "/v1/chat/completions",
                headers=served.headers,
                json={"messages": [{"role": "user", "content": "Count to 10"}], "stream": True},
                timeout=10,
            ) as response:
                for _ in response.iter_bytes():
                    started.set()
            finished.set()

        thread = threading.Thread(target=stream)
        thread.start()
        assert started.wait(5)  # the stream is under way (its first bytes have arrived)
        served.reset()
        assert finished.wait(5)
        thread.join()
        time.sleep(0.05)
        assert served.requests == []


@pytest.mark.socket
def test_served_mock_hands_out_an_async_httpx_client() -> None:
    with ServedMock() as served:

        async def call() -> int:
            async with served.async_httpx_client() as client:
                response = await client.get("/v1/models", headers=served.headers)
                return response.status_code

        assert asyncio.run(call()) == 200


def test_retrying_exactly_at_retry_after_passes_even_with_fractional_clocks() -> None:
    now = [1000.123456789]
    limiter = RateLimiter(clock=lambda: now[0])
    for _ in range(7):
        assert limiter.check("k", rpm=7, tpm=0, tokens=1).allowed
    refused = limiter.check("k", rpm=7, tpm=0, tokens=1)
    assert not refused.allowed
    now[0] += 60 / 7  # the exact time one request's worth refills (not a whole number of seconds)
    assert limiter.check("k", rpm=7, tpm=0, tokens=1).allowed


def test_a_request_that_can_never_fit_the_token_limit_tells_clients_not_to_retry() -> None:
    decision = RateLimiter().check("k", rpm=0, tpm=100, tokens=500)
    assert not decision.allowed
    assert decision.headers["x-should-retry"] == "false"


def test_the_in_process_openai_clients_see_a_dropped_stream_as_a_connection_error() -> None:
    import openai

    messages = [{"role": "user", "content": "Count to 9"}]
    with InProcessMock() as mock:
        client = mock.openai_client(max_retries=0)
        mock.queue_fault("disconnect", after_chunks=3)
        received: list[str] = []
        with pytest.raises(openai.APIConnectionError):
            for chunk in client.chat.completions.create(model="gpt-4o", messages=messages, stream=True):
                received.extend(c.delta.content or "" for c in chunk.choices)
        assert "".join(received) == "1, 2,"  # the events before the cut arrived

        async def async_stream() -> None:
            async_client = mock.async_openai_client(max_retries=0)
            mock.queue_fault("disconnect", after_chunks=3)
            try:
                stream = await async_client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
                async for _ in stream:
                    pass
            finally:
                await async_client.close()

        with pytest.raises(openai.APIConnectionError):
            asyncio.run(async_stream())
