"""The fast stack, the default-install stack, and several workers on shared state.

    python -m bench.stack [--rounds N] [--seconds S] [--only stacks|workers]

Figures (each A/B alternating in one run, medians of the rounds):

- mock / bare Starlette on the fast stack (uvloop + httptools): non-streamed chat and 20-chunk SSE;
- the same on the default-install stack (asyncio + h11, a uvicorn without ``[standard]``);
- ``serve --workers 2 --state redis://…`` / ``serve`` (one worker, in memory), non-streamed chat,
  with a redis-server started for the run; servers and load generator are not pinned, so the
  two workers, Redis and the load generator share the machine's cores (reported beside it).

``bench/run.py`` runs this as its "stack" section and puts the rows in RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    Server,
    Workload,
    clean_env,
    cpus,
    mock_workload,
    start_launcher,
    wait_for_port,
    write_mock_config,
)
from bench.loadgen import run_load

TARGETS = {"json": 0.70, "sse": 0.85}  # fast stack, per CPU-second (issue 17)
PLAIN_TARGETS = {"json": 0.85}  # default install (asyncio + h11), per CPU-second: the first target, set on that stack


@dataclass
class Figure:
    name: str
    a_name: str
    b_name: str
    a: list[float]
    b: list[float]
    target: float | None
    unit: str
    above: bool = False  # the target is "more than", not "at least"

    @property
    def ratio(self) -> float:
        return statistics.median(self.a) / statistics.median(self.b)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants (from /proc), in seconds."""
    total = 0.0
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        with contextlib.suppress(OSError):
            total += cpu_seconds(int(child))
    return total


def rates(server_pids: list[int], run: Callable[[], tuple[int, float]]) -> tuple[float, float]:
    """(responses per second, responses per server CPU-second) of one load run.

    The second does not depend on what else the machine runs: it is what one busy core would give.
    """
    before = sum(cpu_seconds(pid) for pid in server_pids)
    responses, seconds = run()
    used = sum(cpu_seconds(pid) for pid in server_pids) - before
    return responses / seconds, (responses / used if used > 0 else 0.0)


def alternate(
    measure: Callable[[str], tuple[float, float]], rounds: int
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Rates of "a" and "b" (wall, per CPU-second), alternating, the order flipped every other round."""
    measure("a")  # warm-up
    measure("b")
    out: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}
    for index in range(rounds):
        for key in ("a", "b") if index % 2 == 0 else ("b", "a"):
            out[key].append(measure(key))
    a, b = out["a"], out["b"]
    return [x[0] for x in a], [x[0] for x in b], [x[1] for x in a], [x[1] for x in b]


def stacks(tmp: Path, rounds: int, seconds: float) -> list[Figure]:
    """Mock / bare on the fast stack and on the default-install stack."""
    config = write_mock_config(tmp, "stack.toml")
    figures = []
    for stack, label in (("auto", "fast stack (uvloop + httptools)"), ("plain", "default install (asyncio + h11)")):
        mock = start_launcher(f"mock-{stack}", "mock", tmp, ["--config", str(config), "--stack", stack])
        bare = start_launcher(f"bare-{stack}", "bare", tmp, ["--stack", stack])
        try:
            for kind, stream in (("json", False), ("sse", True)):
                workload = mock_workload(stream)
                servers = {"a": mock, "b": bare}

                def measure(
                    key: str, workload: Workload = workload, servers: dict[str, Server] = servers
                ) -> tuple[float, float]:
                    def run() -> tuple[int, float]:
                        result = run_load(servers[key].port, workload, seconds=seconds)
                        if result.errors:
                            raise RuntimeError(f"{servers[key].name}: {result.errors} errors")
                        return result.responses, result.seconds

                    return rates([servers[key].pid], run)

                a, b, a_cpu, b_cpu = alternate(measure, rounds)
                what = "non-streamed chat" if kind == "json" else "SSE, 20 chunks"
                target = TARGETS[kind] if stack == "auto" else PLAIN_TARGETS.get(kind)
                unit = "req/s" if kind == "json" else "streams/s"
                name = f"{what}, {label}: mock / bare Starlette"
                figures.append(Figure(name, "mock", "bare", a, b, None, unit))
                figures.append(Figure(name + ", per server CPU-second", "mock", "bare", a_cpu, b_cpu, target, unit))
        finally:
            mock.stop()
            bare.stop()
    return figures


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[tuple[str, int]]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, None, 10)
        yield f"redis://127.0.0.1:{port}/0", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def start_serve(name: str, tmp: Path, args: list[str]) -> Server:
    """``python -m mockserver serve --port 0 --quiet ARGS``; the port is read from the banner."""
    log = tmp / f"{name}.log"
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    argv = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--quiet", "--log-level", "warning", *args]
    with log.open("wb") as err:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err)
    assert proc.stdout is not None
    match = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
    if not match:
        proc.kill()
        raise RuntimeError(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")
    port = int(match.group(1))
    wait_for_port(port, proc, 60)
    time.sleep(2.0)  # the port is bound before the workers are ready
    return Server(name, proc, port, log)


def workers(tmp: Path, rounds: int, seconds: float) -> list[Figure]:
    """``serve --workers 2 --state redis://…`` / ``serve`` (one worker in memory), non-streamed chat."""
    config = write_mock_config(tmp, "workers.toml")
    with redis_server(tmp) as (url, redis_pid):
        shared = start_serve("mock-2-workers", tmp, ["--config", str(config), "--workers", "2", "--state", url])
        single = start_serve("mock-1-worker", tmp, ["--config", str(config)])
        try:
            servers = {"a": shared, "b": single}
            workload = mock_workload(False)

            pids = {"a": [shared.pid, redis_pid], "b": [single.pid]}

            def measure(key: str) -> tuple[float, float]:
                def run() -> tuple[int, float]:
                    result = run_load(servers[key].port, workload, seconds=seconds, connections=32, unpinned=True)
                    if result.errors:
                        raise RuntimeError(f"{servers[key].name}: {result.errors} errors")
                    return result.responses, result.seconds

                return rates(pids[key], run)

            a, b, a_cpu, b_cpu = alternate(measure, rounds)
        finally:
            shared.stop()
            single.stop()
    cores = f"{len(cpus())} cores"
    name = (
        f"non-streamed chat: --workers 2 --state redis:// / one worker in memory ({cores}, shared with Redis and wrk)"
    )
    return [
        Figure(name, "2 workers + redis", "1 worker", a, b, 1.0, "req/s", above=True),
        Figure(
            "the same, per CPU-second of the servers (workers + redis-server / one worker)",
            "2 workers + redis",
            "1 worker",
            a_cpu,
            b_cpu,
            None,
            "req/s",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stack")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--only", choices=["stacks", "workers"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ainative-stack-") as name:
        tmp = Path(name)
        figures = []
        if args.only != "workers":
            figures += stacks(tmp, args.rounds, args.seconds)
        if args.only != "stacks":
            figures += workers(tmp, args.rounds, args.seconds)
    for figure in figures:
        target = f" (target {'>' if figure.above else '>='} {figure.target})" if figure.target else ""
        print(f"{figure.name}: {figure.ratio:.2f}{target}")
        print(f"    {figure.a_name} {[round(x) for x in figure.a]}, {figure.b_name} {[round(x) for x in figure.b]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
