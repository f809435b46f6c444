"""Proxy overhead: ``ainative-mock proxy`` in front of the mock vs the mock directly.

    python bench/proxy.py [--quick] [--requests N] [--streams N] [--results bench/RESULTS.md]

Upstream: the mock (``python -m bench.launcher mock``) with the 20-token reply, ``ttft_ms = 200``
and ``tokens_per_second = 40`` (a stream takes ~700 ms; the role chunk is sent at once, the first
content chunk at 200 ms). Proxy: ``python -m mockserver proxy --upstream <mock>``, validation on,
recording off. Every request is one new connection (``Connection: close``) from this process,
alternating direct and proxied, so both sides pay the same client costs.

Figures (medians):

- non-streamed chat: latency through the proxy vs direct;
- time to first event (the role chunk, sent by the upstream at once) through the proxy vs direct;
- time to first content chunk (sent by the upstream at 200 ms) through the proxy vs direct, and
  how long before the end of the stream it arrives (the proxy does not buffer).

With ``--results FILE`` the figures replace the "Proxy overhead" section of FILE (``bench/run.py``
writes the same rows into its table when it runs the whole suite).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/proxy.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    REPLY_TOKENS,
    ROOT,
    Server,
    clean_env,
    exchange,
    free_port,
    mock_workload,
    sse_content_deltas,
    start_command,
    start_launcher,
    write_mock_config,
)

TTFT_MS = 200.0
TOKENS_PER_SECOND = 40.0
SECTION = "## Proxy overhead"


@dataclass
class ProxyFigure:
    """One row: what, direct, proxied, the result, and the raw samples."""

    figure: str
    direct: str
    proxied: str
    result: str
    details: str = ""


@dataclass
class ProxyResults:
    figures: list[ProxyFigure] = field(default_factory=list)


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def _start_proxy(upstream: Server, tmp: Path) -> Server:
    port = free_port()
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    argv = [sys.executable, "-m", "mockserver", "proxy", "--upstream", f"http://127.0.0.1:{upstream.port}"]
    argv += ["--port", str(port), "--log-level", "warning"]
    return start_command("proxy", argv, port, tmp, env)


def measure(tmp: Path, requests: int, streams: int) -> ProxyResults:
    """Start the paced mock and a proxy in front of it; measure both ways, alternating."""
    config = write_mock_config(tmp, "proxied.toml", ttft_ms=TTFT_MS, tokens_per_second=TOKENS_PER_SECOND)
    upstream = start_launcher("proxied-mock", "mock", tmp, ["--config", str(config)])
    try:
        proxy = _start_proxy(upstream, tmp)
        try:
            return _measure(upstream.port, proxy.port, requests, streams)
        finally:
            proxy.stop()
    finally:
        upstream.stop()


def _measure(direct_port: int, proxy_port: int, requests: int, streams: int) -> ProxyResults:
    json_work, sse_work = mock_workload(False), mock_workload(True)
    for port in (direct_port, proxy_port):  # warm up: connections, imports, caches
        for _ in range(5):
            exchange(port, json_work)
        exchange(port, sse_work)
    latency: dict[int, list[float]] = {direct_port: [], proxy_port: []}
    for index in range(requests):
        order = (direct_port, proxy_port) if index % 2 == 0 else (proxy_port, direct_port)
        for port in order:
            started = time.perf_counter()
            answer = exchange(port, json_work)  # connect, send, read to the end
            latency[port].append(time.perf_counter() - started)
            if answer.status != 200:
                raise RuntimeError(f"port {port}: HTTP {answer.status}: {answer.body[:200]!r}")
    first: dict[int, list[float]] = {direct_port: [], proxy_port: []}
    content: dict[int, list[float]] = {direct_port: [], proxy_port: []}
    end: dict[int, list[float]] = {direct_port: [], proxy_port: []}
    for index in range(streams):
        order = (direct_port, proxy_port) if index % 2 == 0 else (proxy_port, direct_port)
        for port in order:
            answer = exchange(port, sse_work)
            chunks = [(t, e) for t, e in answer.events if sse_content_deltas(e)]
            if answer.status != 200 or len(chunks) != REPLY_TOKENS:
                raise RuntimeError(f"port {port}: stream of {len(chunks)} content chunks, HTTP {answer.status}")
            first[port].append(answer.events[0][0] - answer.sent_at)
            content[port].append(chunks[0][0] - answer.sent_at)
            end[port].append(answer.events[-1][0] - answer.sent_at)
    results = ProxyResults()
    d, p = direct_port, proxy_port
    rows = [
        ("proxy: non-streamed chat latency", latency, f"median of {requests} requests each"),
        ("proxy: time to first event (role chunk, sent at once)", first, f"median of {streams} streams each"),
        (f"proxy: time to first content chunk (sent at {TTFT_MS:.0f} ms)", content, f"median of {streams} streams"),
    ]
    for figure, samples, what in rows:
        direct_ms, proxied_ms = _ms(samples[d]), _ms(samples[p])
        results.figures.append(
            ProxyFigure(
                figure,
                f"direct: {direct_ms:.2f} ms",
                f"proxy: {proxied_ms:.2f} ms",
                f"+{proxied_ms - direct_ms:.2f} ms, x{proxied_ms / direct_ms:.2f} ({what})",
                f"{figure}: direct {[round(v * 1000, 2) for v in samples[d]]}, "
                f"proxy {[round(v * 1000, 2) for v in samples[p]]} (ms)",
            )
        )
    before_end = _ms([e - c for e, c in zip(end[p], content[p], strict=True)])
    results.figures.append(
        ProxyFigure(
            "proxy: first content chunk arrives before the stream ends",
            f"stream end: {_ms(end[p]):.0f} ms",
            f"first content: {_ms(content[p]):.0f} ms",
            f"{before_end:.0f} ms before the end (not buffered)",
        )
    )
    return results


def render(results: ProxyResults, command: str) -> str:
    """The "Proxy overhead" section of RESULTS.md."""
    lines = [
        SECTION,
        "",
        f"Written by `{command}` (see the docstring of bench/proxy.py). Upstream: the mock with",
        f"ttft_ms = {TTFT_MS:.0f} and {TOKENS_PER_SECOND:.0f} tokens/s; one new connection per request, direct and",
        "proxied alternating.",
        "",
        "| Figure | Direct | Through the proxy | Overhead |",
        "| --- | --- | --- | --- |",
        *(f"| {f.figure} | {f.direct} | {f.proxied} | {f.result} |" for f in results.figures),
        "",
        *(f"- {f.details}" for f in results.figures if f.details),
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the proxy section of ``path``."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start = text.find(SECTION)
    if start >= 0:
        following = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[following + 1 :] if following >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/proxy.py", description="Proxy overhead vs direct.")
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes (figures not meaningful)")
    parser.add_argument("--requests", type=int, help="non-streamed requests per side (default 300, quick 20)")
    parser.add_argument("--streams", type=int, help="paced streams per side (default 15, quick 2)")
    parser.add_argument("--results", type=Path, help="replace the proxy section of this RESULTS.md")
    args = parser.parse_args(argv)
    requests = args.requests or (20 if args.quick else 300)
    streams = args.streams or (2 if args.quick else 15)
    command = "python bench/proxy.py" + "".join(" " + a for a in (sys.argv[1:] if argv is None else argv))
    with tempfile.TemporaryDirectory(prefix="ainative-bench-proxy-") as tmp:
        results = measure(Path(tmp), requests, streams)
    section = render(results, command)
    print(section)
    if args.results:
        write_section(args.results, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
