"""The ledger: integer micro-credits, reservations, settling, and the balance body."""

from __future__ import annotations

import threading

import pytest

import contracts
from mockserver.ledger import MICRO, Ledger, micro


def test_new_accounts_start_with_the_default_balance_and_plan() -> None:
    ledger = Ledger(500, "basic")
    balance = ledger.balance("ak_one_1234")
    contracts.validate("credits-balance", balance)
    assert balance["total_credits"] == 500
    assert balance["used_credits"] == 0
    assert balance["remaining_credits"] == 500
    assert balance["plan"] == "basic"
    assert balance["period_end"] is not None


def test_free_plan_has_no_period_end() -> None:
    balance = Ledger(10, "free").balance("k")
    contracts.validate("credits-balance", balance)
    assert balance["period_end"] is None


def test_reserve_takes_exact_fractional_amounts() -> None:
    ledger = Ledger(10, "pro")
    assert ledger.reserve("k", micro(0.37 * 3))
    assert ledger.reserve("k", micro(1.25))
    balance = ledger.balance("k")
    contracts.validate("credits-balance", balance)
    assert balance["used_credits"] == pytest.approx(2.36, abs=1e-12)
    assert balance["remaining_credits"] == pytest.approx(7.64, abs=1e-12)
    assert ledger.account("k").used == 2_360_000
    assert balance["usage_percentage"] == 23.6


def test_reserve_refuses_what_the_balance_cannot_cover_and_changes_nothing() -> None:
    ledger = Ledger(1, "pro")
    assert ledger.reserve("k", 600_000)
    assert not ledger.reserve("k", 400_001)
    assert ledger.account("k").used == 600_000
    assert ledger.reserve("k", 400_000)  # exactly the rest
    assert ledger.account("k").remaining == 0
    assert not ledger.reserve("k", 1)
    assert ledger.reserve("k", 0)  # a free request always fits


def test_unlimited_accounts_always_reserve_and_remaining_never_goes_negative() -> None:
    ledger = Ledger(1, "pro")
    ledger.configure("k", unlimited=True)
    assert ledger.reserve("k", 5 * MICRO)
    balance = ledger.balance("k")
    contracts.validate("credits-balance", balance)
    assert balance["unlimited"] is True
    assert balance["remaining_credits"] == 0
    assert balance["usage_percentage"] == 100.0


def test_settle_gives_back_the_unused_part_and_never_charges_more_than_reserved() -> None:
    ledger = Ledger(10, "pro")
    first = ledger.reserve("k", 4 * MICRO)
    assert first is not None
    ledger.settle(first, 1_500_000)
    assert ledger.account("k").used == 1_500_000
    second = ledger.reserve("k", 2 * MICRO)
    assert second is not None
    ledger.settle(second, 9 * MICRO)  # more than reserved: capped at the reservation
    assert ledger.account("k").used == 3_500_000


def test_configure_credits_starts_a_fresh_period_for_one_key_or_all() -> None:
    ledger = Ledger(10, "pro")
    ledger.reserve("a", 3 * MICRO)
    ledger.reserve("b", 4 * MICRO)
    ledger.configure("a", credits=20, plan="enterprise")
    assert (ledger.account("a").total, ledger.account("a").used, ledger.account("a").plan) == (20, 0, "enterprise")
    assert ledger.account("b").used == 4 * MICRO
    ledger.configure(None, credits=7)
    assert [(ledger.account(k).total, ledger.account(k).used) for k in ("a", "b", "c")] == [(7, 0)] * 3


def test_reset_forgets_every_account() -> None:
    ledger = Ledger(10, "pro")
    ledger.configure("a", credits=99, unlimited=True, rpm=3)
    ledger.reset(5, "free")
    account = ledger.account("a")
    assert (account.total, account.plan, account.unlimited, account.rpm) == (5, "free", False, None)


def test_account_returns_a_snapshot() -> None:
    ledger = Ledger(10, "pro")
    snapshot = ledger.account("k")
    snapshot.used = 123
    assert ledger.account("k").used == 0


def test_concurrent_reservations_never_overspend() -> None:
    ledger = Ledger(100, "pro")
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            ok = ledger.reserve("k", 330_000) is not None  # 0.33 credits
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 303  # floor(100 / 0.33)
    assert ledger.account("k").used == 303 * 330_000


def test_a_reservation_from_before_set_credits_does_not_refund_into_the_new_period() -> None:
    """A stream reserves 5, credits are reset to 10 (fresh period), then the stream settles at 2.

    The refund of 3 belongs to the old period: the new one must still show 10 remaining and 0 used,
    never ``used < 0`` (which the balance body would report as negative used_credits).
    """
    ledger = Ledger(10, "pro")
    reservation = ledger.reserve("k", 5 * MICRO)
    assert reservation is not None
    ledger.configure("k", credits=10)
    ledger.settle(reservation, 2 * MICRO)
    account = ledger.account("k")
    assert account.used == 0, f"used went to {account.used} micro-credits after a refund from the old period"
    balance = ledger.balance("k")
    contracts.validate("credits-balance", balance)
    assert balance["remaining_credits"] <= balance["total_credits"]
