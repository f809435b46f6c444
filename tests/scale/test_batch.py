"""The batching connection a serving worker uses (mockserver.shared.batch), on a real redis-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import redis

from mockserver.journal import JournalEntry
from mockserver.shared.batch import CommandError
from mockserver.shared.journal import RedisJournal
from mockserver.shared.ledger import RedisLedger
from mockserver.shared.store import RETRY_INTERVAL, SOCKET_TIMEOUT, StateUnavailable, Store

_T = TypeVar("_T")


def _run(url: str, body: Callable[[Store], Awaitable[_T]]) -> _T:
    """``body(store)`` on a fresh event loop with batching on; the connection closed before the loop."""

    async def main() -> _T:
        store = Store(url)
        store.batching = True
        try:
            return await body(store)
        finally:
            store.close()
            await asyncio.sleep(0)  # let the transport close on its loop

    return asyncio.run(main())


def test_commands_of_one_loop_turn_go_out_in_one_write_and_answer_in_order(redis_url: str) -> None:
    async def body(store: Store) -> tuple[list[Any], int, int]:
        batch = store.batch
        assert batch is not None
        await batch.call("PING")  # connected
        before = batch.batches
        results = await asyncio.gather(*(batch.call("INCR", "n") for _ in range(20)))
        return results, batch.batches - before, batch.commands

    results, writes, _ = _run(redis_url, body)
    assert results == list(range(1, 21))
    assert writes == 1


def test_an_error_reply_fails_only_its_own_command(redis_url: str) -> None:
    async def body(store: Store) -> list[Any]:
        batch = store.batch
        assert batch is not None
        await batch.call("SET", "text", "not a number")
        return await asyncio.gather(
            batch.call("INCR", "n"), batch.call("INCR", "text"), batch.call("INCR", "n"), return_exceptions=True
        )

    first, error, second = _run(redis_url, body)
    assert (first, second) == (1, 2)
    assert isinstance(error, CommandError)
    assert "not an integer" in str(error)


def test_a_lost_connection_fails_what_waits_on_it_then_the_next_command_reconnects(redis_url: str) -> None:
    admin = redis.Redis.from_url(redis_url)

    async def body(store: Store) -> tuple[list[Any], Any]:
        batch = store.batch
        assert batch is not None
        await batch.call("CLIENT", "SETNAME", "batched")
        waiting = [asyncio.ensure_future(batch.call("BLPOP", "never", 5)) for _ in range(3)]
        await asyncio.sleep(0.05)
        admin.client_kill_filter(_type="normal", skipme=True)  # kills the batched connection (and no other)
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        with pytest.raises(StateUnavailable):
            await batch.call("PING")  # fails at once for a short while, as the blocking client does
        await asyncio.sleep(RETRY_INTERVAL)
        return outcomes, await batch.call("PING")

    outcomes, pong = _run(redis_url, body)
    admin.close()
    assert all(isinstance(outcome, StateUnavailable) for outcome in outcomes), outcomes
    assert "lost" in str(outcomes[0])
    assert pong == "PONG"


def test_a_redis_that_does_not_answer_costs_a_503_not_a_hang(redis_url: str) -> None:
    admin = redis.Redis.from_url(redis_url)

    async def body(store: Store) -> tuple[float, BaseException | None]:
        batch = store.batch
        assert batch is not None
        await batch.call("PING")
        admin.execute_command("CLIENT", "PAUSE", int(SOCKET_TIMEOUT * 4 * 1000), "ALL")
        started = time.monotonic()
        try:
            await batch.call("GET", "k")
        except StateUnavailable as exc:
            return time.monotonic() - started, exc
        return time.monotonic() - started, None

    took, error = _run(redis_url, body)
    admin.execute_command("CLIENT", "UNPAUSE")
    admin.close()
    assert isinstance(error, StateUnavailable)
    assert "no answer" in str(error)
    assert SOCKET_TIMEOUT <= took < SOCKET_TIMEOUT * 2 + 0.5


def test_scripts_survive_a_script_flush(redis_url: str) -> None:
    admin = redis.Redis.from_url(redis_url)

    async def body(store: Store) -> list[Any]:
        batch = store.batch
        assert batch is not None
        source = "return redis.call('INCR', KEYS[1])"
        first = await batch.script("incr", source, ["s"])
        admin.script_flush()  # as a restarted Redis would have forgotten it
        return [first, await batch.script("incr", source, ["s"])]

    assert _run(redis_url, body) == [1, 2]
    admin.close()


def test_batched_reservations_never_overspend_and_match_the_blocking_ledger(redis_url: str) -> None:
    async def body(store: Store) -> tuple[int, int]:
        ledger = RedisLedger(store, 10, "pro")  # 10 credits = 10,000,000 micro-credits
        account = await ledger.aaccount("k")
        results = await asyncio.gather(*(ledger.areserve("k", 300_000, account.period) for _ in range(50)))
        granted = sum(result is not None for result in results)
        return granted, ledger.account("k").used

    granted, used = _run(redis_url, body)
    assert granted == 33  # 33 x 0.3 credits fit in 10, the 34th does not
    assert used == 33 * 300_000


def test_a_lost_batched_reservation_is_undone_only_if_redis_applied_it(redis_url: str) -> None:
    async def body(store: Store) -> list[int]:
        ledger = RedisLedger(store, 10, "pro")
        period = (await ledger.aaccount("k")).period
        assert await ledger.areserve("k", 1_000_000, period) is not None  # number 1
        assert await ledger.areserve("k", 2_000_000, period) is not None  # number 2: applied
        used = [ledger.account("k").used]
        # Say the connection died with numbers 2 (applied, as Redis's record shows) and 3 (never sent) in flight.
        ledger._batched_lost = [(2, "k", 2_000_000, period), (3, "k", 4_000_000, period)]
        next(ledger._batched_numbers)  # number 3 was used by the lost request
        assert await ledger.areserve("k", 500_000, period) is not None  # undoes first, then reserves
        used.append(ledger.account("k").used)
        return used

    assert _run(redis_url, body) == [3_000_000, 1_500_000]


def test_journal_entries_of_one_loop_turn_are_written_in_one_command_in_order(redis_url: str) -> None:
    async def body(store: Store) -> tuple[list[int], int, list[int]]:
        journal = RedisJournal(store, 100)
        journal.refresh()
        batch = store.batch
        assert batch is not None
        journal.add(JournalEntry(0, "POST", "/warm-up", 200, generation=journal.generation))
        await journal.written()  # the script is loaded now
        before = batch.commands
        entries = [JournalEntry(0, "POST", f"/p{i}", 200, generation=journal.generation) for i in range(5)]
        for entry in entries:
            journal.add(entry)
        await journal.written()
        journal.clear()  # a reset: the next entry began before it
        stale = journal.add(JournalEntry(0, "POST", "/stale", 200, generation=journal.generation - 1))
        await journal.written()
        return [e.seq for e in entries], batch.commands - before, [stale.seq]

    seqs, commands, stale = _run(redis_url, body)
    assert seqs == [2, 3, 4, 5, 6]
    assert commands == 2  # one per loop turn
    assert stale == [0]  # begun before a reset: not recorded
    reader = Store(redis_url)
    assert RedisJournal(reader, 100).entries() == []  # the reset emptied it, and the stale entry stayed out
    reader.close()


def test_a_change_through_another_worker_reaches_a_subscribed_worker_before_its_next_request(redis_url: str) -> None:
    from mockserver.config import MockConfig
    from mockserver.shared.state import SharedMockState

    async def body(store: Store) -> list[Any]:
        config = MockConfig(credits=100, state=redis_url)
        writer = SharedMockState(config, Store(redis_url))  # another worker (blocking calls, as the control API)
        worker = SharedMockState(config, store)
        await worker.abegin()
        for _ in range(50):  # subscribed (confirmed by Redis) within a few loop turns
            if store.changes.live:
                break
            await asyncio.sleep(0.01)
        seen: list[Any] = [store.changes.live]
        await worker.abegin()  # the catch-up the confirmation asked for
        reads = store.batch.commands if store.batch else 0
        account = await worker.shared_ledger.aaccount("k")
        await worker.abegin()
        await worker.shared_ledger.aaccount("k")
        seen.append((store.batch.commands if store.batch else 0) - reads)  # nothing changed: one read in all

        writer.update_config({"default_model": "gpt-4o"})
        writer.shared_ledger.configure("k", plan="enterprise")
        writer.queue_fault("http_error", status=500)
        await asyncio.sleep(0.01)  # a request arrives through the loop, which has read the notices by then
        await worker.abegin()
        seen += [
            worker.config.default_model,
            (await worker.shared_ledger.aaccount("k")).plan,
            account.plan,
            worker.shared_faults.hint_active,
        ]
        writer.store.close()
        return seen

    live, reads, model, plan, old_plan, queued = _run(redis_url, body)
    assert live is True
    assert reads == 1  # the account, read once; no per-request catch-up while nothing changes
    assert (model, plan, old_plan, queued) == ("gpt-4o", "enterprise", "pro", 1)


def test_reserve_and_record_creates_a_new_account_with_the_starting_balance_and_journals_once(redis_url: str) -> None:
    from mockserver.shared.chat import RESERVE_AND_RECORD

    async def body(store: Store) -> tuple[Any, list[Any], Any, list[str]]:
        ledger = RedisLedger(store, 10, "pro")
        journal = RedisJournal(store, 100)
        entry = JournalEntry(0, "POST", "/v1/chat/completions", 200, generation=journal.generation)
        keys, args = journal.record_args(entry)
        script = ("ledger_reserve_and_record", RESERVE_AND_RECORD)
        reservation, added = await ledger.areserve_and("fresh", 4_000_000, 0, script, [len(keys), *keys, *args])
        refused, nothing = await ledger.areserve_and("fresh", 7_000_000, 0, script, [len(keys), *keys, *args])
        return (reservation, added, (refused, nothing), [e.path for e in journal.entries()]), ledger.account("fresh")

    (reservation, added, refused, paths), account = _run(redis_url, body)  # type: ignore[misc]
    assert reservation is not None and reservation.amount == 4_000_000
    assert added == [1]  # the entry's seq
    assert refused == (None, [])  # 4 + 7 > 10 credits: refused, and nothing recorded
    assert paths == ["/v1/chat/completions"]
    assert (account.total, account.plan, account.used) == (10, "pro", 4_000_000)
