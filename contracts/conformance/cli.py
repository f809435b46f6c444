"""``ainative-mock check``: run the conformance clauses against a live target from the shell.

Exit status: 0 nothing failed (skips and warnings are fine); 1 a clause failed (or warned, with
``--strict``), or the target did not answer HTTP at all (one plain line says so); 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from contracts.conformance.budget import DEFAULT_MAX_REQUESTS, DEFAULT_MAX_TOKENS
from contracts.conformance.report import render_table, to_json, to_junit_xml
from contracts.conformance.runner import (
    DEFAULT_BALANCE_PATH,
    DEFAULT_CHAT_PATH,
    DEFAULT_MODELS_PATH,
    CheckConfig,
    Routes,
    TargetUnreachable,
    plan_checks,
    run,
)

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the ``check`` options to ``parser`` (or a new parser) and return it.

    Pass a subparser to mount the command, e.g. ``build_parser(subparsers.add_parser("check"))``.
    """
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="ainative-mock check",
            description="Check a server against the AINative Chat Completions contract, within a request budget.",
        )
    parser.add_argument("--base-url", required=True, help="the target, e.g. https://api.ainative.studio")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("AINATIVE_API_KEY"),
        help="a valid API key (masked in all output; default $AINATIVE_API_KEY, which keeps it out of ps and logs)",
    )
    parser.add_argument(
        "--jwt",
        default=os.environ.get("AINATIVE_JWT"),
        help="a JWT: also check that Bearer JWT auth is accepted (default $AINATIVE_JWT)",
    )
    parser.add_argument(
        "--max-requests", type=_positive_int, default=DEFAULT_MAX_REQUESTS,
        help=f"hard cap on requests sent (default {DEFAULT_MAX_REQUESTS})",
    )  # fmt: skip
    parser.add_argument(
        "--max-tokens", type=_positive_int, default=DEFAULT_MAX_TOKENS,
        help=f"max_tokens of every paid request (default {DEFAULT_MAX_TOKENS})",
    )  # fmt: skip
    parser.add_argument("--model", help="model of paid requests (default: the cheapest the target lists)")
    parser.add_argument("--include-paid", action="store_true", help="also check the balance drops after a paid call")
    parser.add_argument(
        "--rate-limit-key", metavar="KEY",
        help="a key the target answers with 429, to check Retry-After (the ainative mock: ak_test_rate_limited)",
    )  # fmt: skip
    parser.add_argument(
        "--auth", choices=("x-api-key", "bearer"), default="x-api-key",
        help="send the key as X-API-Key (default) or Authorization: Bearer",
    )  # fmt: skip
    parser.add_argument("--chat-path", default=DEFAULT_CHAT_PATH, help=f"chat route (default {DEFAULT_CHAT_PATH})")
    parser.add_argument(
        "--balance-path", default=DEFAULT_BALANCE_PATH, help=f"balance route (default {DEFAULT_BALANCE_PATH})"
    )
    parser.add_argument(
        "--models-path", default=DEFAULT_MODELS_PATH, help=f"models route (default {DEFAULT_MODELS_PATH})"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of generated requests (default 0)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    parser.add_argument("--junit-xml", type=Path, metavar="FILE", help="also write a JUnit XML report")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write a JSON report")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and its maximum spend; send nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--strict", action="store_true",
        help="exit 1 on warnings too (the target accepts requests the contract calls invalid)",
    )  # fmt: skip
    return parser


def _config(args: argparse.Namespace) -> CheckConfig:
    return CheckConfig(
        base_url=args.base_url,
        api_key=args.api_key,
        jwt=args.jwt,
        max_requests=args.max_requests,
        max_tokens=args.max_tokens,
        model=args.model,
        include_paid=args.include_paid,
        rate_limit_key=args.rate_limit_key,
        auth_scheme=args.auth,
        routes=Routes(args.chat_path, args.balance_path, args.models_path),
        seed=args.seed,
        timeout=args.timeout,
        strict=args.strict,
    )


def run_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``check`` for parsed ``args``; returns the exit status (for a host CLI's subcommand)."""
    out = out or sys.stdout
    err = err or sys.stderr
    if not args.api_key:
        print("ainative-mock check: error: --api-key is required (or set AINATIVE_API_KEY)", file=err)
        return EXIT_USAGE
    try:
        config = _config(args)
    except ValueError as exc:
        print(f"ainative-mock check: error: {exc}", file=err)
        return EXIT_USAGE
    if args.dry_run:
        print("Dry run: nothing is sent.", file=out)
        if config.model is None:
            print("(the model is discovered at run time from GET models; the plan shows the fallback)", file=out)
        print(plan_checks(config).describe(), file=out)
        return EXIT_OK

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=out, flush=True)

    try:
        report = run(config, on_progress=progress)
    except TargetUnreachable as exc:
        print(f"ainative-mock check: {exc}", file=err)
        return EXIT_FAILED
    print(render_table(report), file=out)
    try:
        if args.json:
            args.json.write_text(to_json(report) + "\n", encoding="utf-8")
        if args.junit_xml:
            args.junit_xml.write_text(to_junit_xml(report), encoding="utf-8")
    except OSError as exc:
        print(f"ainative-mock check: cannot write report: {exc}", file=err)
        return EXIT_USAGE
    return EXIT_OK if report.ok else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (without the word ``check``) and run; returns the exit status.

    Example:
        >>> main(["--base-url", "http://127.0.0.1:9", "--api-key", "sk_test", "--dry-run"])  # doctest: +ELLIPSIS
        Dry run: nothing is sent.
        ...
        0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    return run_command(args)
