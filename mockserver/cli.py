"""The ``ainative-mock`` command line: ``serve`` the mock, ``check`` a server, ``proxy`` the real API, ``drift``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contracts.conformance.cli import build_parser as build_check_parser
from contracts.conformance.cli import run_command
from mockserver import drift as drift_command
from mockserver import proxy as proxy_command
from mockserver.cassettes import CassetteError, load_cassettes
from mockserver.config import (
    CLI_ALIASES,
    ENV_PREFIX,
    OPTIONS,
    ConfigError,
    MockConfig,
    config_as_dict,
    load_config,
    parse_bool,
)
from mockserver.net import is_loopback

__all__ = ["build_parser", "main"]

log = logging.getLogger("mockserver")

SERVE_EPILOG = f"""\
Every option can also be set in the environment as {ENV_PREFIX}<NAME> (e.g. {ENV_PREFIX}PORT=9000,
lists comma-separated) or in a TOML/YAML file given with --config (keys as in the option names,
with underscores: ttft_ms = 300). The command line wins over the environment, the environment
over the file. The file alone can also set the model table (models) and reply rules (replies).

Default keys: any key starting with ak_, sk_, tmp_ or zdb_live_ and 4 more characters (e.g.
ak_your_key), sent as X-API-Key or Authorization: Bearer. Test keys: ak_test_insufficient_credits
(402), ak_test_rate_limited (429), ak_test_server_error (500), ak_test_unavailable (503),
ak_test_forbidden (403), ak_test_disconnect (stream cut). Test models: mock-unavailable (503),
mock-plan-gated (403).
"""


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help=f"TOML or YAML config file (env {ENV_PREFIX}CONFIG)")
    for option in OPTIONS:
        if not option.cli:
            continue
        flags = [option.flag]
        alias = CLI_ALIASES.get(option.name)
        if alias:
            flags.insert(0, alias)
        kwargs: dict[str, Any] = {
            "dest": option.name,
            "metavar": option.metavar,
            "help": f"{option.help} [env {option.env}]",
        }
        if option.is_list:
            kwargs["action"] = "append"
        elif option.parse is parse_bool:  # a switch: --accept-any-model
            kwargs.update(action="store_const", const="true")
            del kwargs["metavar"]
        parser.add_argument(*flags, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ainative-mock`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="ainative-mock",
        description="A faithful mock of the AINative Chat Completions API, and contract checks for any server.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="start the mock server",
        description="Start the AINative mock server.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_serve_options(serve)
    serve.add_argument(
        "--watch",
        action="store_true",
        help="reload the --config file whenever it is saved (ledger and journal are kept)",
    )
    serve.add_argument(
        "--quiet", action="store_true", help="no console line per request (by default each request prints one)"
    )
    check = commands.add_parser(
        "check",
        help="check a server (the live API, this mock, any compatible server) against the contract",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build_check_parser(check)
    proxy = commands.add_parser(
        "proxy",
        help="forward to the real API, validate every exchange against the contract, record cassettes",
        description="A validation proxy: forwards unchanged, streams unbuffered, reports contract violations.",
    )
    proxy_command.build_parser(proxy)
    drift = commands.add_parser(
        "drift",
        help="report where recorded cassettes disagree with the contract (exit 1 on drift)",
        description="Read a cassette directory and group where the recorded traffic disagrees with the contract.",
    )
    drift_command.build_parser(drift)
    return parser


def serve(
    config: MockConfig, *, quiet: bool = False, watch: str | None = None, cli: dict[str, Any] | None = None
) -> int:
    """Serve the mock in the foreground until interrupted; unless ``quiet``, print a line per request.

    With ``watch`` (the config file), the file's changes are applied while serving; ``cli`` holds the
    command-line values, which keep winning over the file. More than one worker needs shared state
    (``config.state``); exit status 2 otherwise.
    """
    import uvicorn

    from mockserver.app import AINativeMock
    from mockserver.server import listening_socket, serving_stack, uvicorn_config

    if config.workers > 1 and config.state is None:
        sys.stderr.write(
            f"ainative-mock serve: --workers {config.workers} needs shared state: add --state redis://HOST:PORT/DB.\n"
            "  Each worker would otherwise keep its own ledger, rate limits, queues and journal, and they would\n"
            "  disagree. One worker keeps its state in memory (the default).\n"
        )
        return 2
    if config.state is not None:
        problem = _fresh_shared_state(config.state)
        if problem:
            sys.stderr.write(f"ainative-mock serve: {problem}\n")
            return 1
    app: Any
    mock = AINativeMock(config)  # with several workers: the parent's handle on the shared state (for --watch)
    if config.workers > 1:
        from mockserver.shared.worker import WorkerApp

        app = WorkerApp(config, console=not quiet)
    else:
        app = mock.app
        if config.state is not None:  # served by this process's one event loop: batch its Redis commands
            from mockserver.shared.worker import enable_batching

            enable_batching(mock)
        if not quiet:
            from mockserver.console import ConsoleLog

            mock.state.journal.listeners.append(ConsoleLog(sys.stdout))
    try:
        sock = listening_socket(config.host, config.port)
    except OSError as exc:
        sys.stderr.write(f"ainative-mock: cannot bind {config.host}:{config.port}: {exc.strerror}\n")
        return 1
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    shown = "127.0.0.1" if config.host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    control = "on" if (config.admin_token or is_loopback(config.host)) else "off (set --admin-token)"
    uv_config = uvicorn_config(app, config.host, port, config.log_level, workers=config.workers)
    loop, http = serving_stack(uv_config)
    fast = (
        "" if (loop, http) == ("uvloop", "httptools") else "   (pip install 'uvicorn[standard]' for uvloop + httptools)"
    )
    state = "in memory" if config.state is None else f"{config_as_dict(config)['state']} (shared by every worker)"
    sys.stdout.write(
        f"AINative mock server listening on {base}\n"
        f'  OpenAI-style base URL: {base}/api/v1   (e.g. OpenAI(base_url="{base}/api/v1", api_key="ak_your_key"))\n'
        f"  seed: {config.seed}   credits per key: {config.credits}   error style: {config.error_style}\n"
        f"  control API: {base}/_mock/ ({control})   contract: {base}/openapi.json\n"
        f"  event loop: {loop}   HTTP parser: {http}{fast}\n"
        f"  inspector: {base}/   API docs: {base}/docs\n"
        f"  workers: {config.workers}   state: {state}\n"
    )
    sys.stdout.flush()
    stop = None
    if watch is not None:
        from mockserver.reload import ConfigReloader

        stop = ConfigReloader(mock.state, watch, config, cli=cli).start()
        sys.stdout.write(f"  watching {watch} for changes\n")
        sys.stdout.flush()
    try:
        if config.workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(uv_config, sockets=[sock]).run()
        else:
            uvicorn.Server(uv_config).run(sockets=[sock])
    finally:
        if stop is not None:
            stop.set()
    return 0


def _fresh_shared_state(url: str) -> str | None:
    """Check that Redis answers at ``url`` and clear the mock's keys there (a fresh start); or say why not."""
    from mockserver.shared.store import StateUnavailable, Store, parse_state_url

    try:
        parse_state_url(url)
        store = Store(url)
        store.wipe()
    except (ValueError, StateUnavailable) as exc:
        return str(exc)
    store.close()
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ainative-mock``; returns the exit status (2 for usage errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stdout)
        return 0
    if args.command == "check":
        return run_command(args)
    if args.command == "proxy":
        return proxy_command.run_command(args)
    if args.command == "drift":
        return drift_command.run_command(args)
    cli_values = {option.name: getattr(args, option.name) for option in OPTIONS if option.cli}
    try:
        config = load_config(cli_values, config_file=args.config)
    except ConfigError as exc:
        sys.stderr.write(f"ainative-mock serve: {exc}\n")
        return 2
    if config.cassettes is not None:
        try:
            count = len(load_cassettes(Path(config.cassettes)))
        except CassetteError as exc:
            sys.stderr.write(f"ainative-mock serve: --cassettes: {exc}\n")
            return 2
        speed = f"x{config.replay_speed:g} timing" if config.replay_speed else "no delays"
        sys.stdout.write(f"Replaying {count} cassette(s) from {config.cassettes} ({config.replay}, {speed})\n")
        if count == 0:
            sys.stderr.write(f"ainative-mock serve: warning: no cassette (*.json) in {config.cassettes}\n")
    if not (config.admin_token or is_loopback(config.host)):
        sys.stderr.write("ainative-mock: bound beyond loopback without --admin-token: the control API is off\n")
    watch = None
    if args.watch:
        watch = args.config or os.environ.get(ENV_PREFIX + "CONFIG")
        if not watch:
            sys.stderr.write("ainative-mock serve: --watch needs a config file (--config FILE)\n")
            return 2
    return serve(config, quiet=args.quiet, watch=watch, cli=cli_values)
