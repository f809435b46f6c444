"""In-process requests/s: ``InProcessMock().httpx_client()`` vs the bare app through the same transport.

``python -m bench.inprocess --rounds R --seconds S`` prints ``{"fixture": [...], "bare": [...]}``
(requests/s per round; the two alternate within each round, order flipped every other round),
and the same per CPU-second of this process (``fixture_cpu``, ``bare_cpu``: ``time.process_time``,
every thread), which does not depend on what else runs on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import httpx

from bench.bare_app import app as bare_app
from bench.common import API_KEY, CHAT_PATH, REPLY_TEXT, chat_body
from mockserver.config import MockConfig, ReplyRule
from mockserver.testing import InProcessMock
from mockserver.transports import SyncASGITransport


def _rate(client: httpx.Client, seconds: float) -> tuple[float, float]:
    """Requests per wall-clock second and per CPU-second of this process, for about ``seconds``."""
    body = chat_body(stream=False)
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    count = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    deadline = start + seconds
    while True:
        response = client.post(CHAT_PATH, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"in-process request answered {response.status_code}: {response.text[:300]}")
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            cpu = time.process_time() - cpu_start
            return count / (now - start), count / cpu if cpu > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)

    # Credits enough for any number of rounds (as the served mock of bench/common.py): never a 402.
    config = MockConfig(credits=1_000_000_000_000, replies=(ReplyRule(match="", text=REPLY_TEXT),))
    bare_transport = SyncASGITransport(bare_app)
    results: dict[str, list[float]] = {"fixture": [], "bare": [], "fixture_cpu": [], "bare_cpu": []}
    with (
        InProcessMock(config, api_key=API_KEY) as mock,
        httpx.Client(base_url="http://bare.test", transport=bare_transport) as bare,
    ):
        fixture = mock.httpx_client()
        clients = {"fixture": fixture, "bare": bare}
        for client in clients.values():  # warm up both
            _rate(client, min(0.5, args.seconds))
        for index in range(args.rounds):
            order = ["fixture", "bare"] if index % 2 == 0 else ["bare", "fixture"]
            for name in order:
                wall, cpu = _rate(clients[name], args.seconds)
                results[name].append(wall)
                results[name + "_cpu"].append(cpu)
    bare_transport.close()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
