"""Token buckets with an injected clock: Retry-After, refill, tokens per minute, and the headers on responses."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver.ratelimit import RateLimiter
from tests.support.chat import CHAT, RATE_HEADERS, chat_body, headers
from tests.support.checks import check_response
from tests.support.mocks import new_mock


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_a_burst_of_exactly_rpm_passes_and_the_next_waits_60_over_rpm() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    decisions = [limiter.check("k", 3, 0, 10) for _ in range(3)]
    assert all(d.allowed for d in decisions)
    assert [d.headers["x-ratelimit-remaining-requests"] for d in decisions] == ["2", "1", "0"]
    denied = limiter.check("k", 3, 0, 10)
    assert not denied.allowed
    assert denied.retry_after == 20
    assert denied.reason == "Rate limit exceeded (requests per minute)"
    assert denied.headers["x-ratelimit-limit-requests"] == "3"
    assert denied.headers["x-ratelimit-remaining-requests"] == "0"
    assert denied.headers["x-ratelimit-reset-requests"] == "1m0s"


def test_retry_after_is_the_ceiling_of_the_real_wait_and_honouring_it_passes() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    for _ in range(4):
        assert limiter.check("k", 4, 0, 1).allowed
    clock.advance(6.5)  # a request refills every 15 s: 8.5 s still to wait
    denied = limiter.check("k", 4, 0, 1)
    assert (denied.allowed, denied.retry_after) == (False, 9)
    clock.advance(8)  # 0.5 s short
    denied = limiter.check("k", 4, 0, 1)
    assert (denied.allowed, denied.retry_after) == (False, 1)
    clock.advance(0.5)
    assert limiter.check("k", 4, 0, 1).allowed
    assert not limiter.check("k", 4, 0, 1).allowed  # and only one refilled


@settings(max_examples=200, deadline=None)
@given(rpm=st.integers(1, 600), burst=st.integers(1, 5), waited_ms=st.integers(0, 120_000))
def test_retry_after_is_never_early_nor_a_second_late(rpm: int, burst: int, waited_ms: int) -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    burst = min(burst, rpm)
    for _ in range(rpm):
        assert limiter.check("k", rpm, 0, 1).allowed
    clock.advance(waited_ms / 1000)
    exact_wait = Fraction(60, rpm) - Fraction(waited_ms, 1000)  # a whole request refills after 60/rpm s
    decision = limiter.check("k", rpm, 0, 1)
    if exact_wait <= 0:
        assert decision.allowed
        return
    assert not decision.allowed
    assert decision.retry_after == max(1, math.ceil(exact_wait))
    if decision.retry_after > 1:
        clock.advance(decision.retry_after - 1)
        assert not limiter.check("k", rpm, 0, 1).allowed, "Retry-After was at least a second late"
        clock.advance(1)
    else:
        clock.advance(decision.retry_after)
    assert limiter.check("k", rpm, 0, 1).allowed, "waiting Retry-After seconds was not enough"


def test_buckets_refill_continuously_up_to_capacity_only() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    for _ in range(6):
        assert limiter.check("k", 6, 0, 1).allowed
    clock.advance(30)  # half a minute: 3 requests back
    assert [limiter.check("k", 6, 0, 1).allowed for _ in range(4)] == [True, True, True, False]
    clock.advance(3600)  # an hour: full again, not more than full
    assert [limiter.check("k", 6, 0, 1).allowed for _ in range(7)] == [True] * 6 + [False]


def test_accounts_have_separate_buckets() -> None:
    limiter = RateLimiter(FakeClock())
    assert limiter.check("a", 1, 0, 1).allowed
    assert not limiter.check("a", 1, 0, 1).allowed
    assert limiter.check("b", 1, 0, 1).allowed


def test_tokens_per_minute_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    first = limiter.check("k", 0, 100, 60)
    assert first.allowed
    assert first.headers == {
        "x-ratelimit-limit-tokens": "100",
        "x-ratelimit-remaining-tokens": "40",
        "x-ratelimit-reset-tokens": "36s",
    }
    denied = limiter.check("k", 0, 100, 60)
    assert not denied.allowed
    assert denied.retry_after == 12  # 20 tokens missing at 100 per minute
    assert denied.reason == "Rate limit exceeded (tokens per minute)"
    clock.advance(11.9)
    assert not limiter.check("k", 0, 100, 60).allowed
    clock.advance(0.1)
    assert limiter.check("k", 0, 100, 60).allowed


def test_a_request_larger_than_the_token_limit_never_fits() -> None:
    limiter = RateLimiter(FakeClock())
    decision = limiter.check("k", 0, 100, 101)
    assert not decision.allowed
    assert decision.retry_after == 60
    assert "exceeds the 100 tokens per minute limit" in decision.reason
    assert limiter.check("k", 0, 100, 100).allowed  # the bucket was not touched


def test_both_limits_a_denial_takes_from_neither_bucket() -> None:
    limiter = RateLimiter(FakeClock())
    assert limiter.check("k", 5, 100, 90).allowed
    denied = limiter.check("k", 5, 100, 50)  # requests fine, tokens not
    assert not denied.allowed
    assert denied.headers["x-ratelimit-remaining-requests"] == "4"  # not taken
    assert denied.headers["x-ratelimit-remaining-tokens"] == "10"
    assert set(denied.headers) == {
        *RATE_HEADERS,
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    }


def test_no_limits_no_headers_and_reset_refills() -> None:
    limiter = RateLimiter(FakeClock())
    assert limiter.check("k", 0, 0, 10**9).headers == {}
    assert limiter.check("k", 1, 0, 1).allowed
    assert not limiter.check("k", 1, 0, 1).allowed
    limiter.reset()
    assert limiter.check("k", 1, 0, 1).allowed


# -- through the app: headers on every response of the chat endpoint when limits are on ------------


@pytest.fixture
def limited() -> tuple[TestClient, FakeClock, object]:
    """An in-process client of a mock limited to 2 requests and 10 000 tokens a minute on a fake clock."""
    mock = new_mock(rpm=2, tpm=10_000, credits=1)
    clock = FakeClock()
    mock.state.limiter = RateLimiter(clock)
    return TestClient(mock.app), clock, mock


ALL_RATE_HEADERS = (
    *RATE_HEADERS,
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
)


def test_headers_on_json_stream_429_and_402(limited: tuple[TestClient, FakeClock, object]) -> None:
    client, clock, mock = limited
    poor = client.post(CHAT, headers=headers(), json=chat_body("hi"))
    check_response(poor)
    assert poor.status_code == 402  # 1 credit cannot pay for a reply; the limiter still counted it
    poor_stream = client.post(CHAT, headers=headers("ak_other_key_0001"), json=chat_body("hi", stream=True))
    check_response(poor_stream)
    assert poor_stream.status_code == 402
    mock.state.set_credits(1000)  # type: ignore[attr-defined]
    streamed = client.post(CHAT, headers=headers(), json=chat_body("hi", stream=True))
    assert streamed.status_code == 200
    check_response(streamed)
    assert streamed.headers["x-ratelimit-remaining-requests"] == "0"
    denied = client.post(CHAT, headers=headers(), json=chat_body("hi"))
    assert denied.status_code == 429
    check_response(denied)
    assert denied.headers["retry-after"] == "30"
    clock.advance(30)
    ok = client.post(CHAT, headers=headers(), json=chat_body("hi"))
    assert ok.status_code == 200
    check_response(ok)
    assert ok.headers["x-ratelimit-remaining-requests"] == "0"
    assert ok.headers["x-ratelimit-limit-tokens"] == "10000"
    for response in (poor, poor_stream, streamed, denied, ok):
        missing = [h for h in ALL_RATE_HEADERS if h not in response.headers]
        assert not missing, f"{response.status_code} lacks {missing}"


def test_injected_429_carries_rate_limit_headers_when_limits_are_on(
    limited: tuple[TestClient, FakeClock, object],
) -> None:
    """A client reading x-ratelimit-* on a 429 finds them whether the 429 came from the limiter or a fault."""
    client, _, _ = limited
    response = client.post(CHAT, headers=headers(X_Mock_Fault="429"), json=chat_body("hi"))
    assert response.status_code == 429
    check_response(response)
    assert response.headers["retry-after"] == "1"
    missing = [h for h in RATE_HEADERS if h not in response.headers]
    assert not missing, f"an injected 429 lacks {missing} although rpm is configured"
