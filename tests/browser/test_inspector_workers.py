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

from tests.support.serve import Serve, on_every_worker

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


def _burst(served: Serve) -> list[int]:
    """Chat requests at once, each on its own connection, until both workers have answered some; their statuses."""

    async def run() -> list[int]:
        answers = await on_every_worker(served, lambda c: c.post(CHAT, json=BODY, headers={"X-API-Key": KEY}), CLIENTS)
        return [a.status_code for a in answers]

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # (Playwright's sync API holds this thread's loop)
        return pool.submit(asyncio.run, run()).result()


def test_one_page_shows_the_requests_of_both_workers_live(
    two_workers: Serve, inspector: Page, shot: Callable[[Page, str], Path]
) -> None:
    inspector.goto(two_workers.base_url + "/")
    expect(inspector.locator("#live")).to_have_text("live", timeout=5000)
    statuses = _burst(two_workers)
    assert set(statuses) == {200}
    rows = inspector.locator("#entries tr", has_text=CHAT)
    expect(rows).to_have_count(len(statuses), timeout=5000)  # pushed, no reload
    shown = rows.evaluate_all("rows => rows.map(row => Number(row.dataset.seq))")  # newest first
    journal = httpx.get(two_workers.base_url + "/_mock/requests", timeout=10).json()["requests"]
    assert shown == sorted((e["seq"] for e in journal if e["path"] == CHAT), reverse=True)
    shot(inspector, "two-workers")
