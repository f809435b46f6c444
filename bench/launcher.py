"""Serve the mock or the bare app with uvicorn on 127.0.0.1:0 and print ``PORT n``.

``python -m bench.launcher mock [--config FILE] [--console FILE] [--profile OUT.txt]`` or
``python -m bench.launcher bare``. Both use :func:`mockserver.server.uvicorn_config` (log level
warning, no access log, lifespan off). The mock runs as ``ainative-mock serve --quiet`` does, with no
console line per request, unless ``--console FILE`` writes those lines (as ``serve`` prints them) to FILE.
With ``--profile`` the whole server runs under pyinstrument; the report is written on SIGINT.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from mockserver.server import listening_socket, uvicorn_config


def build_app(kind: str, config_file: str | None) -> ASGIApp:
    if kind == "bare":
        from bench.bare_app import app

        return app
    from mockserver.app import create_app
    from mockserver.config import load_config

    return create_app(load_config(env={}, config_file=config_file))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.launcher")
    parser.add_argument("app", choices=["mock", "bare"])
    parser.add_argument("--config", help="TOML config file of the mock")
    parser.add_argument("--console", help="mock: write serve's console line per request to this file")
    parser.add_argument(
        "--stack",
        choices=["auto", "plain"],
        default="auto",
        help="auto: what uvicorn picks (uvloop + httptools when installed); plain: asyncio + h11 (a bare uvicorn)",
    )
    parser.add_argument("--profile", help="write a pyinstrument text report here on exit")
    parser.add_argument("--profile-html", help="also write an HTML report here")
    args = parser.parse_args(argv)

    app = build_app(args.app, args.config)
    if args.console and args.app == "mock":
        from mockserver.console import ConsoleLog

        console = open(args.console, "w", encoding="utf-8")  # noqa: SIM115 - open for the server's lifetime
        app.state.mock.state.journal.listeners.append(ConsoleLog(console))  # type: ignore[attr-defined]
    # The socket and uvicorn settings `ainative-mock serve` uses, for the mock and the bare app alike.
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn_config(app, "127.0.0.1", port)
    if args.stack == "plain":  # what a default install without uvicorn[standard] runs
        config.loop, config.http = "asyncio", "h11"
    server = uvicorn.Server(config)
    print(f"PORT {port}", flush=True)
    if not args.profile:
        server.run(sockets=[sock])
        return 0

    from pyinstrument import Profiler

    profiler: Any = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        server.run(sockets=[sock])
    finally:
        profiler.stop()
        with open(args.profile, "w", encoding="utf-8") as out:
            out.write(profiler.output_text(unicode=True, color=False, show_all=False))
        if args.profile_html:
            with open(args.profile_html, "w", encoding="utf-8") as out:
                out.write(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
