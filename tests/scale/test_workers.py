"""Several workers on shared state act as one mock: exact ledger, one rate limit, faults fire once.

Each test runs against ``ainative-mock serve --workers 2 --state redis://…`` and, unchanged,
against one worker in memory: the answers must be the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from httpx_sse import ServerSentEvent, aconnect_sse

from mockserver.config import MockConfig
from mockserver.shared.store import DEFAULT_NAMESPACE, RETRY_INTERVAL
from mockserver.testing import InProcessMock, ServedMock
from tests.support.serve import Serve, on_every_worker

pytestmark = [pytest.mark.socket, pytest.mark.slow]

CHAT = "/v1/chat/completions"
BODY = {"messages": [{"role": "user", "content": "count the credits"}]}
CLIENTS = 50


@pytest.fixture(params=["2 workers on redis", "1 worker in memory"])
def server(request: pytest.FixtureRequest) -> Iterator[Serve]:
    """The mock served as in production: two workers sharing Redis, or one worker in memory."""
    if request.param.startswith("2"):
        served = Serve("--workers", "2", "--state", request.getfixturevalue("redis_url"))
    else:
        served = Serve()
    yield served
    err = served.stop()
    assert "Traceback" not in err, err


async def _burst(base_url: str, count: int, key: str, path: str = CHAT) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        gate = asyncio.Event()

        async def one() -> httpx.Response:
            await gate.wait()
            return await client.post(path, json=BODY, headers={"X-API-Key": key})

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        await asyncio.sleep(0)
        gate.set()
        return list(await asyncio.gather(*tasks))


@contextlib.asynccontextmanager
async def _live_journal(base_url: str) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    """``GET /_mock/events`` as the inspector page follows it: its events, from just after the hello."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as page,
        aconnect_sse(page, "GET", "/_mock/events") as feed,
    ):
        events = feed.aiter_sse()
        while (await anext(events)).event != "hello":  # (a "retry:" line comes first)
            pass
        yield events


def _put(base_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.put(base_url + path, json=body, timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _balance(base_url: str, key: str) -> dict[str, Any]:
    response = httpx.get(base_url + "/v1/public/credits/balance", headers={"X-API-Key": key}, timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_the_ledger_is_exact_to_the_credit_with_50_concurrent_clients(server: Serve) -> None:
    key = "ak_ledger_0001"
    probe = httpx.post(server.base_url + CHAT, json=BODY, headers={"X-API-Key": "ak_probe_9999"}, timeout=10)
    cost = probe.json()["usage"]["total_tokens"]  # price 1 credit per token
    _put(server.base_url, f"/_mock/keys/{key}", {"credits": cost * 37 + cost // 2})  # room for exactly 37
    answers = asyncio.run(_burst(server.base_url, 2 * CLIENTS, key))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 37, statuses
    assert statuses.count(402) == 2 * CLIENTS - 37, statuses
    charged = sum(a.json()["usage"]["total_tokens"] for a in answers if a.status_code == 200)
    balance = _balance(server.base_url, key)
    assert balance["used_credits"] == charged == 37 * cost
    assert balance["remaining_credits"] == cost // 2
    journal = httpx.get(server.base_url + "/_mock/requests", timeout=10).json()
    assert journal["total"] == 2 * CLIENTS + 2  # the probe and the balance call, from whichever worker
    mine = [e for e in journal["requests"] if e["path"] == CHAT][1:]  # all but the probe
    assert sorted(e["status"] for e in mine) == sorted(statuses)


def test_rpm_10_admits_exactly_10_across_every_worker(server: Serve) -> None:
    key = "ak_limited_0001"
    _put(server.base_url, f"/_mock/keys/{key}", {"rpm": 10})
    answers = asyncio.run(_burst(server.base_url, CLIENTS, key))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == CLIENTS - 10, statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["x-ratelimit-limit-requests"] == "10"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert int(refused.headers["retry-after"]) >= 1


def test_a_queued_fault_fires_exactly_once(server: Serve) -> None:
    queued = httpx.post(server.base_url + "/_mock/faults", json={"fault": "503", "times": 1}, timeout=10)
    assert queued.status_code == 201, queued.text
    answers = asyncio.run(_burst(server.base_url, CLIENTS, "ak_faulty_0001"))
    statuses = [a.status_code for a in answers]
    assert statuses.count(503) == 1, statuses
    assert statuses.count(200) == CLIENTS - 1, statuses
    assert httpx.get(server.base_url + "/_mock/faults", timeout=10).json() == {"pending": []}
    journal = httpx.get(server.base_url + "/_mock/requests", timeout=10).json()["requests"]
    assert [e["fault"]["fault"] for e in journal if e["fault"]] == ["http_error"]


def test_both_workers_serve_and_see_one_config(redis_url: str) -> None:
    served = Serve("--workers", "2", "--state", redis_url)
    try:
        assert "workers: 2   state: " + redis_url in served.banner
        assert len(served.workers()) == 2
        for style in ("openai", "detail", "compat", "openai"):  # each change, then a burst on both workers at once
            _put(served.base_url, "/_mock/config", {"error_style": style})
            answers = asyncio.run(
                on_every_worker(served, lambda c: c.post(CHAT, json={}, headers={"X-API-Key": "ak_conf_0001"}), CLIENTS)
            )
            assert {a.status_code for a in answers} == {422}
            styles = [_style(a.json()) for a in answers]  # none answered while its worker was catching up
            assert styles == [style] * len(answers), f"{styles.count(style)} of {len(answers)} in the {style} style"
        wrong = httpx.post(served.base_url + CHAT, json={}, headers={"X-API-Key": "ak_conf_0001"}, timeout=10)
        assert "error" in wrong.json()  # the openai style, from whichever worker
    finally:
        served.stop()


def test_the_live_journal_shows_the_requests_every_worker_answered(server: Serve) -> None:
    """The page's feed (``GET /_mock/events``) is one worker's stream; it shows what both answered, in order.

    And each settings change, made through either worker, is announced on it (``event: changed``).
    """
    key = "ak_feed_0001"

    async def watch() -> tuple[list[dict[str, Any]], int]:
        async with _live_journal(server.base_url) as events:
            answers = await on_every_worker(server, lambda c: c.post(CHAT, json=BODY, headers={"X-API-Key": key}), 20)
            assert {a.status_code for a in answers} == {200}
            seen: list[dict[str, Any]] = []
            async with asyncio.timeout(20):
                while len(seen) < len(answers):
                    event = await anext(events)
                    if event.event == "request" and event.json()["path"] == CHAT:
                        seen.append(event.json())
            for style in ("openai", "detail") * 3:  # a new connection each: the feed's worker or the other
                async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as control:
                    assert (await control.put("/_mock/config", json={"error_style": style})).status_code == 200
                async with asyncio.timeout(10):
                    while (await anext(events)).event != "changed":
                        pass
            return seen, len(answers)

    seen, answered = asyncio.run(watch())
    assert len(server.workers()) == (2 if "workers: 2" in server.banner else 0)
    seqs = [entry["seq"] for entry in seen]
    assert seqs == sorted(set(seqs)), f"entries repeated or out of order: {seqs}"
    assert len(seqs) == answered
    assert {entry["status"] for entry in seen} == {200}


def test_served_mock_in_the_test_process_shares_state_with_the_workers(redis_url: str) -> None:
    served = Serve("--workers", "2", "--state", redis_url)
    try:
        with ServedMock(MockConfig(state=redis_url)) as fixture:
            fixture.set_key("ak_shared_0001", credits=5)
            fixture.reply("scripted through the fixture")
            answer = httpx.post(served.base_url + CHAT, json=BODY, headers={"X-API-Key": "ak_shared_0001"}, timeout=10)
            assert answer.status_code == 402  # 5 credits are not enough
            fixture.set_key("ak_shared_0001", credits=1000)
            answer = httpx.post(served.base_url + CHAT, json=BODY, headers={"X-API-Key": "ak_shared_0001"}, timeout=10)
            assert answer.json()["choices"][0]["message"]["content"] == "scripted through the fixture"
            assert fixture.pending() == {"replies": [], "faults": []}
            assert fixture.count(status=402) == 1
            assert fixture.balance("ak_shared_0001")["used_credits"] == answer.json()["usage"]["total_tokens"]
    finally:
        served.stop()


def test_every_change_is_seen_by_the_very_next_request_on_either_worker(redis_url: str) -> None:
    """Workers learn of changes from notices, not by asking Redis per request: none may be late."""
    served = Serve("--workers", "2", "--state", redis_url)
    key = {"X-API-Key": "ak_next_0001"}
    try:
        with (
            httpx.Client(base_url=served.base_url, timeout=10) as control,
            httpx.Client(
                base_url=served.base_url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
            ) as chat,
        ):  # a new connection per request: either worker may answer
            seen = []
            for round_ in range(40):
                credits, style = (0, "openai") if round_ % 2 else (1000, "detail")
                assert control.put("/_mock/keys/ak_next_0001", json={"credits": credits}).status_code == 200
                assert control.put("/_mock/config", json={"error_style": style}).status_code == 200
                answer = chat.post(CHAT, json=BODY, headers=key)
                seen.append((answer.status_code, "error" in answer.json()))  # the openai style nests an "error"
            assert seen == [(200, False), (402, True)] * 20
            control.put("/_mock/keys/ak_next_0001", json={"credits": 1000})
            control.post("/_mock/faults", json={"fault": "http_error", "status": 418})
            assert chat.post(CHAT, json=BODY, headers=key).status_code == 418  # a queued fault: the next request
            assert chat.post(CHAT, json=BODY, headers=key).status_code == 200
    finally:
        served.stop()


def test_an_answer_is_charged_and_journaled_once_and_a_402_uses_no_scripted_reply(redis_url: str) -> None:
    """A plain answer reserves and journals in one Redis step: check both outcomes of that step."""
    served = Serve("--workers", "2", "--state", redis_url)
    key = {"X-API-Key": "ak_once_0000000001"}
    try:
        with httpx.Client(base_url=served.base_url, timeout=10) as client:
            client.put("/_mock/keys/ak_once_0000000001", json={"credits": 1})
            client.post("/_mock/replies", json={"text": "kept for a paying request"})
            refused = client.post(CHAT, json=BODY, headers=key)
            assert refused.status_code == 402
            queued = client.post("/_mock/replies", json={"text": "second"}).json()["pending"]
            assert queued == ["kept for a paying request", "second"]  # the 402 used none
            client.put("/_mock/keys/ak_once_0000000001", json={"credits": 1000})
            answer = client.post(CHAT, json=BODY, headers=key)
            assert answer.json()["choices"][0]["message"]["content"] == "kept for a paying request"
            mine = [e for e in client.get("/_mock/requests").json()["requests"] if e["key"] == "ak_…0001"]
            tokens = answer.json()["usage"]["total_tokens"]
            assert [(e["status"], e["charged"]) for e in mine] == [(402, 0), (200, tokens)]
            assert mine[1]["response"] == answer.json()
            balance = client.get("/api/v1/public/credits/balance", headers=key).json()
            assert balance["used_credits"] == answer.json()["usage"]["total_tokens"]
    finally:
        served.stop()


def test_more_than_one_worker_without_shared_state_refuses_to_start() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--workers", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--workers 3 needs shared state: add --state redis://HOST:PORT/DB" in done.stderr
    assert "listening" not in done.stdout


def test_an_unreachable_redis_at_start_is_a_clear_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--state", "redis://127.0.0.1:1/0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot reach Redis at 127.0.0.1:1" in done.stderr


def test_redis_down_gives_503_never_500_and_the_ledger_survives(durable_redis: Any) -> None:
    served = Serve("--workers", "2", "--state", durable_redis.url())
    key = "ak_outage_0001"
    outcomes: list[tuple[float, int, int]] = []  # (time, status, tokens charged if 200)
    errors: list[str] = []

    async def clients(stop: asyncio.Event) -> None:
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
        async with httpx.AsyncClient(base_url=served.base_url, limits=limits, timeout=30) as client:

            async def loop() -> None:
                while not stop.is_set():
                    try:
                        answer = await client.post(CHAT, json=BODY, headers={"X-API-Key": key})
                    except httpx.TransportError as exc:
                        errors.append(repr(exc))
                        continue
                    tokens = answer.json()["usage"]["total_tokens"] if answer.status_code == 200 else 0
                    outcomes.append((time.monotonic(), answer.status_code, tokens))

            await asyncio.gather(*(loop() for _ in range(20)))

    async def scenario() -> tuple[float, float]:
        stop = asyncio.Event()
        running = asyncio.create_task(clients(stop))
        await asyncio.sleep(1.5)
        await asyncio.to_thread(durable_redis.stop)
        down = time.monotonic()
        await asyncio.sleep(1.5)
        await asyncio.to_thread(durable_redis.start)
        up = time.monotonic()
        await asyncio.sleep(2.0)
        stop.set()
        await running
        return down, up

    try:
        down, up = asyncio.run(scenario())
        statuses = {status for _, status, _ in outcomes}
        assert errors == []
        assert statuses <= {200, 503}, statuses
        assert any(status == 503 for t, status, _ in outcomes if down < t < up)
        assert any(status == 200 for t, status, _ in outcomes if t > up + 0.5), "no success after Redis came back"
        charged = sum(tokens for _, _, tokens in outcomes)
        balance = _balance(served.base_url, key)
        assert balance["used_credits"] == charged
        assert balance["remaining_credits"] == 1_000_000 - charged
    finally:
        err = served.stop()
    assert "503 for POST /v1/chat/completions: shared state unavailable: cannot reach Redis at 127.0.0.1" in err
    assert "shared state reachable again" in err
    assert "Traceback" not in err


def test_the_live_journal_shows_each_reset_once_before_the_entries_after_it(server: Serve) -> None:
    """Resets amid requests on both workers: after each ``reset`` the page gets exactly the new journal.

    No entry recorded before a reset may follow it (two rows numbered 1), and none recorded just
    after it may be missed: after each reset the page gets 1, 2, 3… with no repeat and no gap.
    """
    trials = 12
    no_reuse = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=0)

    async def scenario() -> tuple[list[list[int]], list[list[int]]]:
        async with (
            _live_journal(server.base_url) as events,
            httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=no_reuse) as chat,
        ):

            async def ask(count: int) -> None:
                await asyncio.gather(*(chat.post(CHAT, json=BODY, headers={"X-API-Key": "ak_resets_0001"})
                                       for _ in range(count)))  # fmt: skip

            journals = []
            for _ in range(trials):
                reset = asyncio.create_task(chat.post("/_mock/reset"))  # amid 20 requests on both workers
                await ask(20)
                assert (await reset).status_code == 200
                await ask(10)  # after the reset, nothing else in flight: the journal is complete
                journal = (await chat.get("/_mock/requests")).json()["requests"]
                journals.append([entry["seq"] for entry in journal if entry["path"] == CHAT])
            segments: list[list[int]] = []  # the request seqs the page got after each reset
            async with asyncio.timeout(20):
                while len(segments) < trials or segments[-1] != journals[-1]:
                    event = await anext(events)
                    if event.event == "reset":
                        segments.append([])
                    elif event.event == "request" and segments and event.json()["path"] == CHAT:
                        segments[-1].append(event.json()["seq"])
            return segments, journals

    segments, journals = asyncio.run(scenario())
    for segment, journal in zip(segments, journals, strict=True):
        # The journal as read after a trial; requests of the next trial recorded before its reset follow it.
        assert segment == list(range(1, len(segment) + 1)), f"a repeat, a gap or an entry of before: {segment}"
        assert segment[: len(journal)] == journal
    assert segments[-1] == journals[-1]  # nothing in flight after the last trial: the whole journal


def test_the_live_journal_skips_what_another_program_wrote_in_its_stream(redis_url: str) -> None:
    """Items the mock did not write (another tool on the same Redis) are skipped with a log line; the feed goes on."""
    served = Serve("--workers", "2", "--state", redis_url)
    stream = f"{DEFAULT_NAMESPACE}:journal"

    async def scenario() -> list[int]:
        async with (
            _live_journal(served.base_url) as events,
            httpx.AsyncClient(base_url=served.base_url, timeout=10) as chat,
        ):
            with redis.Redis.from_url(redis_url) as foreign:
                for fields in ({"seq": 99, "e": "null"}, {"seq": "x", "e": "{}"}, {"other": "field"}):
                    foreign.xadd(stream, fields)  # type: ignore[arg-type]
            for _ in range(3):
                assert (await chat.post(CHAT, json=BODY, headers={"X-API-Key": "ak_foreign_0001"})).status_code == 200
            seen: list[int] = []
            async with asyncio.timeout(10):
                while len(seen) < 3:
                    event = await anext(events)
                    if event.event == "request":
                        seen.append(event.json()["seq"])
            journal = await chat.get("/_mock/requests")  # (skips them too)
            assert [entry["seq"] for entry in journal.json()["requests"]] == seen
            return seen

    try:
        assert asyncio.run(scenario()) == [1, 2, 3]
    finally:
        err = served.stop()
    assert "journal: skipping stream item" in err
    assert "Traceback" not in err


def test_the_live_journal_goes_on_after_redis_comes_back(durable_redis: Any) -> None:
    """A page left open through a Redis outage shows the requests answered once Redis is back."""
    served = Serve("--workers", "2", "--state", durable_redis.url())
    headers = {"X-API-Key": "ak_outage_feed_0001"}

    async def scenario() -> tuple[int, list[int], dict[str, Any]]:
        no_reuse = httpx.Limits(max_keepalive_connections=0)  # a new connection per request: either worker
        async with (
            _live_journal(served.base_url) as events,
            httpx.AsyncClient(base_url=served.base_url, timeout=10, limits=no_reuse) as chat,
        ):

            async def next_request() -> dict[str, Any]:
                async with asyncio.timeout(10):
                    while True:
                        event = await anext(events)
                        if event.event == "request" and event.json()["path"] == CHAT:
                            return event.json()  # type: ignore[no-any-return]

            assert (await chat.post(CHAT, json=BODY, headers=headers)).status_code == 200
            before = (await next_request())["seq"]
            await asyncio.to_thread(durable_redis.stop)
            during = [(await chat.post(CHAT, json=BODY, headers=headers)).status_code for _ in range(4)]
            await asyncio.sleep(1.0)
            await asyncio.to_thread(durable_redis.start)
            async with asyncio.timeout(10):
                while (await chat.post(CHAT, json=BODY, headers=headers)).status_code != 200:
                    await asyncio.sleep(0.1)
            return before, during, await next_request()

    try:
        before, during, after = asyncio.run(scenario())
        assert during == [503] * 4
        assert after["seq"] > before and after["status"] == 200
    finally:
        err = served.stop()
    assert "Traceback" not in err


def _style(body: dict[str, Any]) -> str:
    """The error style of an error body (see mockserver.errors.error_body)."""
    return "compat" if {"detail", "error"} <= set(body) else "openai" if "error" in body else "detail"


def test_watch_with_two_workers_applies_the_file_on_both_and_reset_returns_to_it(
    redis_url: str, tmp_path: Path
) -> None:
    """``serve --workers 2 --state … --config FILE --watch``: as in memory, on every worker.

    A saved file applies to the very next requests on both workers; a setting changed at run time
    keeps its value until the file changes that setting; a reset returns to the file as it is now;
    the journal is kept.
    """
    file = tmp_path / "mock.toml"
    file.write_text('error_style = "compat"\n[[replies]]\nmatch = "story"\ntext = "First."\n')
    served = Serve("--workers", "2", "--state", redis_url, "--config", str(file), "--watch")
    key = {"X-API-Key": "ak_watch_0001"}
    story = {"messages": [{"role": "user", "content": "a story"}]}

    def reloaded(count: int) -> None:
        deadline = time.monotonic() + 15
        while served.stderr().count("config reloaded from") < count:
            assert time.monotonic() < deadline, served.stderr()
            time.sleep(0.05)

    def answers(client: httpx.Client) -> tuple[set[str], set[str]]:
        """Replies to 10 stories and error styles of 10 bad bodies, each on a new connection."""
        replies = {client.post(CHAT, json=story, headers=key).json()["choices"][0]["message"]["content"]
                   for _ in range(10)}  # fmt: skip
        styles = {_style(client.post(CHAT, json={}, headers=key).json()) for _ in range(10)}
        return replies, styles

    try:
        with httpx.Client(base_url=served.base_url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as c:
            assert answers(c) == ({"First."}, {"compat"})
            assert c.put("/_mock/config", json={"error_style": "openai"}).status_code == 200
            total = c.get("/_mock/requests").json()["total"]

            file.write_text('error_style = "compat"\n[[replies]]\nmatch = "story"\ntext = "Second."\n')
            reloaded(1)
            assert answers(c) == ({"Second."}, {"openai"})  # the run-time style stays: the file kept its own
            assert c.get("/_mock/requests").json()["total"] == total + 20  # the journal is kept

            file.write_text('error_style = "detail"\n[[replies]]\nmatch = "story"\ntext = "Second."\n')
            reloaded(2)
            assert answers(c) == ({"Second."}, {"detail"})  # the file changed the style: it wins

            assert c.put("/_mock/config", json={"error_style": "openai"}).status_code == 200
            assert c.post("/_mock/reset").status_code == 200
            assert answers(c) == ({"Second."}, {"detail"})  # back to the file as it is now, not as it was
    finally:
        err = served.stop()
    assert "Traceback" not in err


def test_in_process_mocks_on_one_redis_act_as_one(redis_url: str) -> None:
    config = MockConfig(state=redis_url, credits=100)
    with InProcessMock(config) as one, InProcessMock(config) as two:
        one.fail_next(429)
        one.reply("from the first")
        client = two.httpx_client()
        assert client.post(CHAT, json=BODY, headers=two.headers).status_code == 429
        answer = client.post(CHAT, json=BODY, headers=two.headers).json()
        assert answer["choices"][0]["message"]["content"] == "from the first"
        assert one.balance()["used_credits"] == answer["usage"]["total_tokens"]
        assert [e.status for e in one.requests] == [429, 200]
        one.configure(error_style="openai")
        wrong = client.post(CHAT, json={}, headers=two.headers).json()
        assert "error" in wrong and "detail" not in wrong
        two.reset()
        assert one.requests == []
        assert "detail" in one.httpx_client().post(CHAT, json={}, headers=one.headers).json()


def test_in_process_mock_answers_503_while_redis_is_down_then_recovers(durable_redis: Any) -> None:
    with InProcessMock(MockConfig(state=durable_redis.url())) as mock:
        client = mock.httpx_client()
        assert client.post(CHAT, json=BODY, headers=mock.headers).status_code == 200
        durable_redis.stop()
        down = client.post(CHAT, json=BODY, headers=mock.headers)
        assert down.status_code == 503
        assert down.headers["retry-after"] == "1"
        assert (
            down.json()["detail"] == "The mock's shared state is unavailable (Redis cannot be reached); retry shortly"
        )
        assert client.get("/_mock/requests").status_code == 503
        durable_redis.start()
        time.sleep(RETRY_INTERVAL)
        again = client.post(CHAT, json=BODY, headers=mock.headers)
        assert again.status_code == 200
        assert mock.count(status=200) == 2


@pytest.mark.parametrize("where", ["memory", "redis"])
def test_an_unexpected_error_in_the_chat_pipeline_is_a_500_in_the_mocks_format(
    where: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from starlette.testclient import TestClient

    from mockserver.app import AINativeMock

    state = None if where == "memory" else request.getfixturevalue("redis_url")
    mock = AINativeMock(MockConfig(state=state))

    def broken(endpoint: Any, call: Any) -> None:
        raise RuntimeError("a bug in a step")

    steps = tuple(broken if step.__name__ == "compose_reply" else step for step in type(mock.chat).steps)
    monkeypatch.setattr(type(mock.chat), "steps", steps)
    try:
        client = TestClient(mock.app, raise_server_exceptions=False)
        answer = client.post(CHAT, json=BODY, headers={"X-API-Key": "ak_bug_0001"})
    finally:
        monkeypatch.undo()
    assert answer.status_code == 500
    assert answer.json() == {"detail": "Internal server error"}
    assert "unexpected error on POST /v1/chat/completions" in caplog.text
    assert "a bug in a step" in caplog.text
