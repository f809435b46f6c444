"""The Redis state classes keep the in-memory classes' promises, on fakeredis and on a real redis-server."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from redis.commands.core import Script

from mockserver.faults import Fault, FaultQueue, make_fault
from mockserver.journal import Journal, JournalEntry
from mockserver.ledger import Ledger
from mockserver.ratelimit import RateLimiter
from mockserver.shared.faults import RedisFaultQueue, RedisSeededFaults
from mockserver.shared.journal import RedisJournal
from mockserver.shared.ledger import RedisLedger
from mockserver.shared.ratelimit import RedisRateLimiter
from mockserver.shared.settings import SharedSettings
from mockserver.shared.store import RETRY_INTERVAL, StateUnavailable, Store, parse_state_url


def _hammer(threads: int, each: int, work: Callable[[], Any]) -> list[Any]:
    results: list[Any] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run() -> None:
        start.wait()
        for _ in range(each):
            value = work()
            with lock:
                results.append(value)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


# -- ledger ----------------------------------------------------------------------------------------
def test_ledger_matches_the_in_memory_ledger_step_by_step(store: Store) -> None:
    shared, memory = RedisLedger(store, 100, "pro"), Ledger(100, "pro")
    steps: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("reserve", ("k1", 30_000_000), {}),
        ("reserve", ("k1", 80_000_000), {}),  # refused: 70 left
        ("reserve", ("k2", 100_000_000), {}),
        ("configure", ("k3",), {"plan": "free", "rpm": 5, "unlimited": True}),
        ("reserve", ("k3", 10**12), {}),  # unlimited
        ("configure", (None,), {"credits": 7}),
        ("reserve", ("k1", 7_000_001), {}),  # refused: 7 credits
        ("reserve", ("k4", 7_000_000), {}),  # a new account gets the new default
    ]
    for name, args, kwargs in steps:
        got, want = getattr(shared, name)(*args, **kwargs), getattr(memory, name)(*args, **kwargs)
        assert (got is None) == (want is None), (name, args)
        if got is not None and name == "reserve":
            assert (got.key, got.amount) == (want.key, want.amount)
    for key in ("k1", "k2", "k3", "k4"):
        assert shared.balance(key) == memory.balance(key)
        a, b = shared.account(key), memory.account(key)
        fields = ("total", "used", "plan", "unlimited", "rpm", "tpm")
        assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]


def test_settle_refunds_only_within_the_same_period(store: Store) -> None:
    ledger = RedisLedger(store, 10, "pro")
    held = ledger.reserve("k", 4_000_000)
    assert held is not None
    ledger.settle(held, 1_500_000)
    assert ledger.account("k").used == 1_500_000
    stale = ledger.reserve("k", 2_000_000)
    assert stale is not None
    ledger.configure("k", credits=10)  # a fresh period: the stale reservation settles to nothing
    ledger.settle(stale, 0)
    assert ledger.account("k").used == 0
    ledger.reset(3, "free")
    assert ledger.balance("k")["total_credits"] == 3
    assert ledger.balance("k")["plan"] == "free"


def test_a_second_worker_keeps_the_defaults_the_first_set(store: Store) -> None:
    RedisLedger(store, 10, "pro").configure(None, credits=99)
    assert RedisLedger(store, 10, "pro").balance("new")["total_credits"] == 99


def test_concurrent_reservations_never_overspend(store: Store) -> None:
    ledger = RedisLedger(store, 25, "pro")  # 25 credits = exactly 25 reservations of 1
    results = _hammer(8, 10, lambda: ledger.reserve("k", 1_000_000))
    assert sum(r is not None for r in results) == 25
    assert ledger.account("k").used == 25_000_000


# -- rate limits -----------------------------------------------------------------------------------
def test_rate_limiter_admits_a_burst_of_rpm_then_refuses_like_memory(store: Store) -> None:
    shared, memory = RedisRateLimiter(store), RateLimiter()
    for _ in range(3):
        got, want = shared.check("a", 3, 0, 10), memory.check("a", 3, 0, 10)
        assert got.allowed and want.allowed
        assert got.headers["x-ratelimit-remaining-requests"] == want.headers["x-ratelimit-remaining-requests"]
    got, want = shared.check("a", 3, 0, 10), memory.check("a", 3, 0, 10)
    assert not got.allowed and not want.allowed
    assert (got.retry_after, got.reason) == (want.retry_after, want.reason)
    assert got.headers.keys() == want.headers.keys()
    assert shared.peek("a", 3, 0)["x-ratelimit-remaining-requests"] == "0"
    assert shared.check("b", 3, 0, 10).allowed  # buckets are per account
    shared.reset()
    assert shared.check("a", 3, 0, 10).allowed


def test_a_request_that_can_never_fit_says_do_not_retry(store: Store) -> None:
    decision = RedisRateLimiter(store).check("a", 0, 100, 101)
    assert not decision.allowed
    assert decision.headers["x-should-retry"] == "false"
    assert decision.reason == "request of 101 tokens exceeds the 100 tokens per minute limit"


def test_token_limit_takes_tokens_and_reports_them(store: Store) -> None:
    limiter = RedisRateLimiter(store)
    assert limiter.check("a", 10, 100, 60).headers["x-ratelimit-remaining-tokens"] == "40"
    refused = limiter.check("a", 10, 100, 60)
    assert not refused.allowed
    assert refused.reason == "Rate limit exceeded (tokens per minute)"
    assert 1 <= refused.retry_after <= 13


def test_concurrent_checks_admit_exactly_rpm(store: Store) -> None:
    limiter = RedisRateLimiter(store)
    results = _hammer(8, 5, lambda: limiter.check("a", 10, 0, 1).allowed)
    assert results.count(True) == 10


# -- fault queue -----------------------------------------------------------------------------------
def test_fault_queue_matches_the_in_memory_queue(store: Store) -> None:
    shared, memory = RedisFaultQueue(store), FaultQueue()
    for queue in (shared, memory):
        queue.push(make_fault("503"), 2, model="m1")
        queue.push(make_fault("disconnect", {"after_chunks": 3}), 1)
        queue.push(make_fault("latency", {"ms": 5}), 1, route="/v1/chat/completions")
    assert shared.pending() == memory.pending()
    for model, route, stream in [("m2", "/x", False), ("m2", "/x", True), ("m1", "/x", False), ("m1", "/x", True)] * 2:
        a, b = shared.peek(model, route, stream), memory.peek(model, route, stream)
        assert (a and a.fault) == (b and b.fault)
        if a is not None and b is not None:
            assert shared.commit(a) == memory.commit(b)
    assert shared.pending() == memory.pending()
    shared.clear()
    assert shared.pending() == []
    assert shared.active() == 0


def test_a_fault_used_by_another_request_cannot_be_committed_twice(store: Store) -> None:
    queue = RedisFaultQueue(store)
    queue.push(make_fault("500"), 1)
    first, second = queue.peek("m", "/r", False), queue.peek("m", "/r", False)
    assert first is not None and second is not None
    assert queue.commit(first) is True
    assert queue.commit(second) is False
    assert queue.peek("m", "/r", False) is None


def test_a_queued_fault_fires_exactly_once_under_contention(store: Store) -> None:
    queue = RedisFaultQueue(store)
    queue.push(make_fault("503"), 3)

    def take() -> bool:
        entry = queue.peek("m", "/r", False)
        return entry is not None and queue.commit(entry)

    assert _hammer(8, 5, take).count(True) == 3


def test_faults_keep_every_parameter_and_their_source(store: Store) -> None:
    queue = RedisFaultQueue(store)
    fault = Fault("stall", ms=250.5, after_chunks=4, source="queue")
    queue.push(fault)
    entry = queue.peek("m", "/r", True)
    assert entry is not None and entry.fault == fault


# -- seeded faults ---------------------------------------------------------------------------------
def test_seeded_faults_follow_the_documented_rule(store: Store) -> None:
    seeded = RedisSeededFaults(store, 7, 0.5, ("429", "500", "disconnect"))
    choices = [make_fault(c, source="rate") for c in ("429", "500", "disconnect")]
    for n in range(1, 40):
        rng = random.Random(f"7:key-a:{n}")
        roll, pick = rng.random(), rng.random()
        want = choices[int(pick * 3)] if roll < 0.5 else None
        assert seeded.draw(True, "key-a") == want


def test_seeded_faults_per_key_do_not_depend_on_interleaving_or_workers(store: Store) -> None:
    one = RedisSeededFaults(store, 3, 0.4, ("429", "503"))
    alone = [one.draw(False, "a") for _ in range(20)]
    one.configure(3, 0.4, ("429", "503"))  # counts start again
    two = RedisSeededFaults(store, 3, 0.4, ("429", "503"))  # a second worker on the same store
    mixed = []
    for i in range(20):
        worker = one if i % 2 else two
        worker.draw(False, "b")  # another key's requests in between
        mixed.append(worker.draw(False, "a"))
    assert mixed == alone
    assert any(f is not None for f in alone) and any(f is None for f in alone)


# -- journal ---------------------------------------------------------------------------------------
def _entry(path: str, generation: int = -1) -> JournalEntry:
    return JournalEntry(0, "POST", path, 200, key="ak_t…", model="m", body={"n": 1}, fault={"fault": "x"},
                        usage={"prompt_tokens": 1}, charged=0.5, generation=generation)  # fmt: skip


def test_journal_is_a_capped_stream_with_sequence_numbers(store: Store) -> None:
    journal, memory = RedisJournal(store, 5), Journal(5)
    for i in range(12):
        journal.add(_entry(f"/p{i}"))
        memory.add(_entry(f"/p{i}"))

    def plain(entry: JournalEntry) -> dict[str, Any]:
        data = entry.as_dict()
        assert data.pop("at") > 0
        return data

    assert [plain(e) for e in journal.entries()] == [plain(e) for e in memory.entries()]
    assert journal.total == 12
    assert [e.seq for e in journal.entries()] == list(range(8, 13))


def test_journal_keeps_response_bodies_and_stream_events(store: Store) -> None:
    journal = RedisJournal(store, 5)
    json_entry, stream_entry, text_entry = _entry("/json"), _entry("/sse"), _entry("/text")
    json_entry.response = b'{"id":"x","n":[1,2]}'
    stream_entry.events = [b'data: {"a":1}\n\n', b"data: [DONE]\n\n"]
    text_entry.response = b"not json"
    seen: list[int] = []
    journal.listeners.append(lambda entry: seen.append(entry.seq))
    for entry in (json_entry, stream_entry, text_entry):
        journal.add(entry)
    kept = journal.entries()
    assert [e.response for e in kept] == [b'{"id":"x","n":[1,2]}', None, b"not json"]
    assert kept[1].events == [b'data: {"a":1}\n\n', b"data: [DONE]\n\n"]
    assert seen == [1, 2, 3]


def test_journal_drops_requests_begun_before_a_reset(store: Store) -> None:
    journal = RedisJournal(store, 10)
    journal.refresh()
    begun = _entry("/old", journal.generation)
    other_worker = RedisJournal(store, 10)
    other_worker.clear()
    journal.add(begun)
    assert journal.entries() == []
    journal.refresh()
    journal.add(_entry("/new", journal.generation))
    assert [e.path for e in other_worker.entries()] == ["/new"]


def test_concurrent_journal_adds_get_distinct_sequence_numbers(store: Store) -> None:
    journal = RedisJournal(store, 1000)
    _hammer(8, 10, lambda: journal.add(_entry("/x")))
    assert sorted(e.seq for e in journal.entries()) == list(range(1, 81))


# -- settings, outages, scripted replies -----------------------------------------------------------
def test_settings_changes_bump_the_version_every_worker_reads(store: Store) -> None:
    one, two = SharedSettings(store), SharedSettings(store)
    before = two.counters("j", "f").config_version
    one.update({"rpm": 5, "faults": ("429", "500")})
    one.set_unavailable("m1", True)
    version, overrides, unavailable = two.snapshot()
    assert version == before + 2 == two.counters("j", "f").config_version
    assert overrides == {"rpm": 5, "faults": ["429", "500"]}
    assert unavailable == {"m1"}
    one.reset(["m2"])
    assert two.snapshot()[1:] == ({}, {"m2"})


def test_settings_must_be_json(store: Store) -> None:
    from mockserver.config import ConfigError

    with pytest.raises(ConfigError, match="JSON values"):
        SharedSettings(store).update({"rpm": object()})


def test_a_scripted_reply_is_used_by_exactly_one_request(store: Store) -> None:
    settings = SharedSettings(store)
    settings.push_reply({"text": "one"})
    settings.push_reply({"text": "two"})
    assert settings.counters("j", "f").queued_replies == 2

    def take() -> str | None:
        head = settings.head_reply()
        return head if head is not None and settings.consume_reply(head) else None

    taken = [t for t in _hammer(6, 3, take) if t is not None]
    assert sorted(t.split('"text":"')[1].split('"')[0] for t in taken) == ["one", "two"]
    assert settings.replies() == []
    assert settings.counters("j", "f").queued_replies == 0


# -- connection ------------------------------------------------------------------------------------
def test_an_unreachable_redis_raises_state_unavailable_naming_it() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = Store(f"redis://127.0.0.1:{port}/0")
    ledger = RedisLedger(store, 1, "pro")  # a worker starts while Redis is down
    with pytest.raises(StateUnavailable, match=f"cannot reach Redis at 127.0.0.1:{port}"):
        ledger.reserve("k", 1)


@pytest.mark.parametrize(
    ("url", "problem"),
    [("http://x:1/0", "expected redis://"), ("redis:///0", "no host"), ("redis://h:1/x", "must be a number")],
)
def test_state_urls_are_checked(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_state_url(url)


class _LosesAnswers:
    """A Redis client proxy whose next script call runs but whose answer is lost (Redis stopped mid-call)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.lose_next = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def register_script(self, source: str) -> Script:
        return Script(self, source)

    def evalsha(self, *args: Any) -> Any:
        result = self.client.evalsha(*args)
        if self.lose_next:
            self.lose_next = False
            raise redis.exceptions.ConnectionError("Connection closed by server.")
        return result


def test_a_reservation_whose_answer_was_lost_is_undone_when_redis_is_back(store: Store) -> None:
    proxy = _LosesAnswers(store.client)
    lossy = Store(store.url, client=proxy)
    ledger = RedisLedger(lossy, 10, "pro")
    assert ledger.reserve("k", 1_000_000) is not None
    proxy.lose_next = True
    with pytest.raises(StateUnavailable):
        ledger.reserve("k", 2_000_000)  # applied by Redis, answered 503 by the mock
    with pytest.raises(StateUnavailable):
        ledger.account("k")  # calls fail at once for a short while, without waiting on Redis
    time.sleep(RETRY_INTERVAL)
    assert ledger.account("k").used == 3_000_000
    assert ledger.has_lost_reservation
    ledger.undo_lost()
    assert ledger.account("k").used == 1_000_000
    ledger.undo_lost()  # only once
    assert ledger.account("k").used == 1_000_000
    proxy.lose_next = True
    with pytest.raises(StateUnavailable):
        ledger.reserve("k", 500_000)
    time.sleep(RETRY_INTERVAL)
    assert ledger.reserve("k", 1) is not None  # the next reservation undoes the lost one first
    assert ledger.account("k").used == 1_000_001
