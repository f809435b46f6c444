"""``ainative_server`` answers over loopback in milliseconds, so suites with many requests stay fast.

Runs in this process: the plugin is loaded here from its entry point too.
"""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from mockserver.testing import ServedMock


@pytest.mark.socket
def test_keep_alive_requests_are_not_held_by_nagle_and_delayed_ack(ainative_server: ServedMock) -> None:
    # Without TCP_NODELAY on the accepted connections, each response waits ~40 ms for the client's
    # delayed ACK (headers and body go out in two writes). The limit is ten times what loopback needs.
    timings = []
    with httpx.Client(base_url=ainative_server.base_url, timeout=20) as client:
        client.get("/health")
        for _ in range(15):
            started = time.perf_counter()
            assert client.get("/health").status_code == 200
            timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.02, f"median {statistics.median(timings) * 1000:.1f} ms per request"
