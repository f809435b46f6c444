"""The credits balance: the period is the current calendar month (frozen clock), magic keys agree with chat."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.chat import MAGIC_KEYS
from mockserver.clock import Clock, clock, period_bounds
from mockserver.ledger import EXHAUSTED_KEYS
from tests.support.chat import BODY
from tests.support.checks import check_response
from tests.support.mocks import Mock, MockFactory

BALANCE = "/api/v1/public/credits/balance"
UTC = timezone.utc


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        (datetime(2026, 12, 1, 0, 0, tzinfo=UTC), "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        (datetime(2027, 1, 1, 0, 0, tzinfo=UTC), "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"),
        (datetime(2028, 2, 29, 12, 0, tzinfo=UTC), "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"),
        (datetime(2026, 4, 30, 23, 59, 59, tzinfo=UTC), "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"),
    ],
)
def test_balance_period_is_the_calendar_month_of_the_frozen_clock(
    mock: Mock, now: datetime, start: str, end: str
) -> None:
    with clock.frozen(now):
        body = check_response(mock.client.get(BALANCE, headers={"X-API-Key": "ak_period_0001"}))
    assert (body["period_start"], body["period_end"]) == (start, end)
    assert _parse(start) <= now < _parse(end)


def test_a_timezone_other_than_utc_is_converted() -> None:
    plus_two = timezone(timedelta(hours=2))
    # 1 Jan 01:00 at UTC+2 is still 31 Dec in UTC.
    assert period_bounds(datetime(2027, 1, 1, 1, 0, tzinfo=plus_two)) == (
        "2026-12-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    )


@settings(max_examples=300, deadline=None)
@given(now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)))
def test_period_holds_now_on_any_date(now: datetime) -> None:
    moment = now.replace(tzinfo=UTC)
    start, end = period_bounds(moment)
    assert _parse(start) <= moment < _parse(end)
    assert _parse(start).day == 1 and _parse(end).day == 1


def test_unfrozen_clock_is_now() -> None:
    fresh = Clock()
    before = datetime.now(UTC)
    assert before <= fresh.now() <= datetime.now(UTC)
    fresh.freeze(datetime(2026, 5, 5))
    assert fresh.now() == datetime(2026, 5, 5, tzinfo=UTC)
    fresh.freeze(None)
    assert fresh.now() >= before


def test_free_plan_has_no_period_end(make_mock: MockFactory) -> None:
    body = check_response(make_mock(plan="free").client.get(BALANCE, headers={"X-API-Key": "ak_free_0001"}))
    assert body["period_end"] is None


def test_every_magic_402_key_shows_no_credits_left() -> None:
    assert {key for key, fault in MAGIC_KEYS.items() if fault.status == 402} == set(EXHAUSTED_KEYS)


def test_insufficient_credits_key_balance_agrees_with_chat(mock: Mock) -> None:
    headers = {"X-API-Key": "ak_test_insufficient_credits"}
    assert mock.post(BODY, headers=headers).status_code == 402
    body = check_response(mock.client.get(BALANCE, headers=headers))
    assert body["remaining_credits"] == 0
    assert body["used_credits"] == body["total_credits"]
    assert body["usage_percentage"] == 100
    mock.state.set_credits(500)  # a fresh balance for every key: chat still says 402, and so does the balance
    assert mock.post(BODY, headers=headers).status_code == 402
    assert check_response(mock.client.get(BALANCE, headers=headers))["remaining_credits"] == 0


@pytest.mark.parametrize("key", [k for k, f in MAGIC_KEYS.items() if f.status != 402])
def test_other_magic_keys_keep_their_credits(mock: Mock, key: str) -> None:
    body = check_response(mock.client.get(BALANCE, headers={"X-API-Key": key}))
    assert body["remaining_credits"] == body["total_credits"] > 0
