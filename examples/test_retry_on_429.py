"""Retry a chat request on HTTP 429, waiting as long as the server's ``Retry-After`` header asks.

The helper takes its ``sleep`` as a parameter, so tests can record the waits instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

# --- application code ----------------------------------------------------------------------------

API_URL = "https://api.ainative.studio"


def ask(
    prompt: str,
    *,
    api_key: str,
    base_url: str = API_URL,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Send ``prompt`` and return the reply; on 429 wait ``Retry-After`` seconds (1 if absent) and retry."""
    for attempt in range(1, attempts + 1):
        response = httpx.post(
            f"{base_url}/v1/public/chat/completions",
            headers={"X-API-Key": api_key},
            json={"messages": [{"role": "user", "content": prompt}]},
            timeout=30,
        )
        if response.status_code != 429 or attempt == attempts:
            break
        sleep(float(response.headers.get("retry-after", "1")))
    response.raise_for_status()
    reply: str = response.json()["choices"][0]["message"]["content"]
    return reply


# --- tests ---------------------------------------------------------------------------------------


def test_retries_after_the_wait_the_server_asks_for(ainative_mock):
    ainative_mock.fail_next(429, retry_after=7)
    ainative_mock.reply("Hello!")
    waits: list[float] = []

    assert ask("Hi", api_key=ainative_mock.api_key, sleep=waits.append) == "Hello!"

    assert waits == [7.0]
    assert [entry.status for entry in ainative_mock.requests] == [429, 200]


def test_gives_up_after_the_last_attempt(ainative_mock):
    ainative_mock.fail_next(429, times=3)
    waits: list[float] = []

    with pytest.raises(httpx.HTTPStatusError) as failure:
        ask("Hi", api_key=ainative_mock.api_key, sleep=waits.append)

    assert failure.value.response.status_code == 429
    assert waits == [1.0, 1.0]  # no sleep after the last attempt
    assert ainative_mock.count(status=429) == 3


def test_really_waits_one_second(ainative_mock):
    ainative_mock.fail_next(429, retry_after=1)
    started = time.monotonic()

    ask("Hi", api_key=ainative_mock.api_key)

    assert time.monotonic() - started >= 1.0
    assert ainative_mock.count(status=200) == 1


def test_other_errors_are_not_retried(ainative_mock):
    ainative_mock.fail_next(500)

    with pytest.raises(httpx.HTTPStatusError):
        ask("Hi", api_key=ainative_mock.api_key, sleep=pytest.fail)

    assert ainative_mock.count() == 1
