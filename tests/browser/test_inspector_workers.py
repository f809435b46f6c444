"""The inspector of ``serve --workers 2 --state redis://…`` in a real Chromium: one page, every worker.

The page holds its live feed on one worker's connection; requests answered by the other worker
must appear too, pushed, in journal order, and the ledger must count them all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.serve import Serve, socket_count

CHAT = "/v1/chat/completions"
KEY = "ak_two_workers_5678"
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Which worker answers?"}]}
CLIENTS = 40


@pytest.fixture
def two_workers(redis_url: str) -> Iterator[Serve]:
    served = Serve("--workers", "2", "--state", redis_url)
    yield served
    err = served.stop()
    assert "Traceback" not in err, err


def _burst(served: Serve) -> tuple[list[int], list[int]]:
    """CLIENTS chat requests at once, each on its own connection; statuses, and sockets per worker meanwhile."""

    async def run() -> tuple[list[int], list[int]]:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=served.base_url, limits=limits, timeout=30) as client:
            answers = await asyncio.gather(
                *(client.post(CHAT, json=BODY, headers={"X-API-Key": KEY}) for _ in range(CLIENTS))
            )
            return [a.status_code for a in answers], [socket_count(pid) for pid in served.workers()]

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # (Playwright's sync API holds this thread's loop)
        return pool.submit(asyncio.run, run()).result()


def test_one_page_shows_the_requests_of_both_workers_live(
    two_workers: Serve, inspector: Page, shot: Callable[[Page, str], Path]
) -> None:
    inspector.goto(two_workers.base_url + "/")
    expect(inspector.locator("#live")).to_have_text("live", timeout=5000)
    statuses, sockets = _burst(two_workers)
    assert statuses == [200] * CLIENTS
    assert len(sockets) == 2 and all(count > 2 for count in sockets), f"sockets per worker: {sockets}"
    rows = inspector.locator("#entries tr", has_text=CHAT)
    expect(rows).to_have_count(CLIENTS, timeout=5000)  # pushed, no reload
    shown = rows.evaluate_all("rows => rows.map(row => Number(row.dataset.seq))")  # newest first
    journal = httpx.get(two_workers.base_url + "/_mock/requests", timeout=10).json()["requests"]
    assert shown == sorted((e["seq"] for e in journal if e["path"] == CHAT), reverse=True)
    shot(inspector, "two-workers")
