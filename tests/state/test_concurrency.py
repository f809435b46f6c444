"""Many simultaneous clients on a real socket: the ledger stays exact and the limiter admits exactly rpm."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

import contracts
from mockserver.models import ModelInfo
from tests.support.chat import BALANCE, CHAT, RATE_HEADERS, chat_body, headers
from tests.support.checks import check_response
from tests.support.mocks import served_mock

pytestmark = [pytest.mark.socket, pytest.mark.reliability]

CLIENTS = 60
PRICE = Decimal("0.37")
MODELS = (ModelInfo("priced-model", 100_000, "ainative", price=float(PRICE)),)
PROMPTS = ("hi", "count to 9", "Tell me about concurrency", "count to 30")


async def fire(base_url: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Send every body at once, each on its own connection, and read every response to the end."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        start = asyncio.Event()

        async def one(body: dict[str, Any]) -> httpx.Response:
            await start.wait()
            return await client.post(CHAT, headers=headers(), json=body)

        tasks = [asyncio.create_task(one(body)) for body in bodies]
        await asyncio.sleep(0)
        start.set()
        return await asyncio.gather(*tasks)


def test_balance_is_exactly_the_sum_of_usage_under_concurrency() -> None:
    bodies = [chat_body(PROMPTS[i % len(PROMPTS)], stream=i % 2 == 0, include_usage=i % 2 == 0) for i in range(CLIENTS)]
    with served_mock(models=MODELS, default_model="priced-model", credits=100_000) as served:
        responses = asyncio.run(fire(served.base_url, bodies))
        balance = check_response(httpx.get(served.base_url + BALANCE, headers=headers()))
    total_tokens = 0
    for body, response in zip(bodies, responses, strict=True):
        assert response.status_code == 200
        if body.get("stream"):
            assert response.headers["content-type"].startswith("text/event-stream")
            chunks = [json.loads(line[6:]) for line in response.text.split("\n\n") if line and line != "data: [DONE]"]
            for chunk in chunks:
                contracts.validate("chat-completion-chunk", chunk)
            assert response.text.endswith("data: [DONE]\n\n")
            total_tokens += chunks[-1]["usage"]["total_tokens"]
        else:
            total_tokens += check_response(response)["usage"]["total_tokens"]
    entries = [e for e in served.state.requests() if e.path.endswith("/chat/completions")]
    assert len(entries) == CLIENTS
    assert sum(e.usage["total_tokens"] for e in entries) == total_tokens
    expected_used = total_tokens * PRICE
    assert Decimal(str(balance["used_credits"])) == expected_used
    assert Decimal(str(balance["remaining_credits"])) == 100_000 - expected_used
    assert sum(Decimal(str(e.charged)) for e in entries) == expected_used


def test_concurrent_spending_never_overspends() -> None:
    """With credits for only some of the requests, exactly the affordable ones pass and the balance is exact."""
    bodies = [chat_body("count to 30", stream=i % 2 == 0) for i in range(CLIENTS)]
    with served_mock(models=MODELS, default_model="priced-model", credits=100) as served:
        responses = asyncio.run(fire(served.base_url, bodies))
        balance = check_response(httpx.get(served.base_url + BALANCE, headers=headers()))
    statuses = [r.status_code for r in responses]
    for response in responses:
        check_response(response)
    tokens = served.state.requests()[0].usage["total_tokens"]  # every request is the same
    cost = tokens * PRICE
    affordable = int(Decimal(100) / cost)
    assert statuses.count(200) == affordable, (statuses.count(200), affordable)
    assert statuses.count(402) == CLIENTS - affordable
    assert Decimal(str(balance["used_credits"])) == affordable * cost
    assert balance["remaining_credits"] >= 0


@pytest.mark.parametrize("rpm", [10])
def test_rpm_admits_exactly_rpm_of_a_burst(rpm: int) -> None:
    bodies = [chat_body("hi", stream=i % 3 == 0) for i in range(50)]
    with served_mock(rpm=rpm) as served:
        responses = asyncio.run(fire(served.base_url, bodies))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == rpm
    assert statuses.count(429) == 50 - rpm
    remaining = []
    for response in responses:
        check_response(response)
        missing = [h for h in RATE_HEADERS if h not in response.headers]
        assert not missing, f"{response.status_code} lacks {missing}"
        assert response.headers["x-ratelimit-limit-requests"] == str(rpm)
        if response.status_code == 429:
            retry_after = response.headers["retry-after"]
            assert retry_after.isdigit() and int(retry_after) >= 1
            assert int(retry_after) <= 60 // rpm
            assert response.json() == {"detail": "Rate limit exceeded (requests per minute)"}
        else:
            remaining.append(int(response.headers["x-ratelimit-remaining-requests"]))
    assert sorted(remaining) == list(range(rpm))  # each admitted request saw a distinct count left
    assert [e.status for e in served.state.requests()].count(200) == rpm


def test_paced_streams_some_cut_by_their_clients_charge_exactly_what_was_sent() -> None:
    """50 overlapping paced streams and requests; every fourth client leaves after 3 events."""
    served = served_mock(models=MODELS, default_model="priced-model", credits=100_000, tokens_per_second=40)

    async def run(base_url: str) -> list[int]:
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

            async def one(i: int) -> int:
                body = chat_body("count to 60", stream=i % 2 == 0)
                async with client.stream("POST", CHAT, headers=headers(), json=body) as response:
                    assert response.status_code == 200
                    events = 0
                    async for line in response.aiter_lines():
                        if not line:
                            continue
                        events += 1
                        if line != "data: [DONE]":
                            payload = json.loads(line.removeprefix("data: "))
                            contracts.validate(
                                "chat-completion-chunk" if body.get("stream") else "chat-completion", payload
                            )
                        if i % 4 == 0 and events == 3:
                            break
                    return events

            return await asyncio.gather(*(one(i) for i in range(50)))

    with served:
        asyncio.run(run(served.base_url))
        deadline = 5.0
        while len(served.state.requests()) < 50 and deadline > 0:
            asyncio.run(asyncio.sleep(0.05))
            deadline -= 0.05
        balance = check_response(httpx.get(served.base_url + BALANCE, headers=headers()))
    entries = [e for e in served.state.requests() if e.path.endswith("/chat/completions")]
    assert len(entries) == 50
    streams = [e for e in entries if e.stream]
    full_events = 63  # role + 60 tokens + finish + [DONE]
    cut = [e for e in streams if e.chunks_sent < full_events]
    assert len(cut) == 13  # clients 0, 4, ..., 48
    for entry in entries:
        full = Decimal(entry.usage["total_tokens"]) * PRICE
        charged = Decimal(str(entry.charged))
        if entry in cut:
            sent = entry.usage["prompt_tokens"] + entry.chunks_sent - 1
            assert charged == sent * PRICE < full
        else:
            assert charged == full
    assert Decimal(str(balance["used_credits"])) == sum(Decimal(str(e.charged)) for e in entries)
    # the journal's disconnected flag names exactly the streams whose client left
    assert [e.disconnected for e in entries] == [e in cut for e in entries]
