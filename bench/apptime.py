"""Time the application alone: ASGI calls in a loop, no server, no sockets.

    python -m bench.apptime [--stream] [--n 20000] [--profile]

Prints µs per request for the mock and for the bare app (same request, same event loop), and
with ``--profile`` the mock's top functions (cProfile). A quick way to see what a hot-path
change buys before a full ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import API_KEY, CHAT_PATH, chat_body, write_mock_config


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": CHAT_PATH,
        "raw_path": CHAT_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"x-api-key", API_KEY.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


async def _drive(app: Any, body: bytes, n: int) -> float:
    scope = _scope(body)
    sent: list[int] = []

    never = asyncio.Event()
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls % 2 == 0:  # what a stream listens for while it plays: nothing (the client stays)
            await never.wait()
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.append(message["status"])

    started = time.thread_time()  # CPU time of this thread: steadier than wall time on a busy machine
    for _ in range(n):
        calls = 0
        await app(dict(scope), receive, send)
    took = time.thread_time() - started
    if set(sent) != {200}:
        raise RuntimeError(f"statuses {set(sent)}")
    return took / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.apptime")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--state", help="redis://... to time the mock on shared state")
    args = parser.parse_args(argv)
    from bench.bare_app import app as bare
    from mockserver.app import create_app
    from mockserver.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(env={}, config_file=write_mock_config(Path(tmp), "mock.toml"))
    if args.state:
        from mockserver.shared.store import Store

        Store(args.state).wipe()
        config = config.replace(state=args.state)
    mock = create_app(config)
    body = chat_body(args.stream)
    loop = asyncio.new_event_loop()
    try:
        for name, app in (("bare", bare), ("mock", mock), ("bare", bare), ("mock", mock)):
            per = loop.run_until_complete(_drive(app, body, args.n))
            print(f"{name}: {per:.1f} µs/request")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            loop.run_until_complete(_drive(mock, body, args.n))
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
