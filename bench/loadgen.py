"""Load generators: ``wrk`` when installed, else a bounded asyncio one; always in a separate process.

Both keep ``connections`` HTTP/1.1 keep-alive connections busy with the same request for a
duration (or, Python only, until ``count`` responses) and report responses/s and non-2xx.

The Python generator: ``python -m bench.loadgen --port N --workload JSON (--seconds S | --count N)``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import HOST, ROOT, Workload, client_cpu, pin

__all__ = ["LoadResult", "run_load"]


@dataclass
class LoadResult:
    responses: int
    seconds: float
    errors: int  # non-2xx responses, socket errors and timeouts
    tool: str

    @property
    def rate(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0


def run_load(
    port: int,
    workload: Workload,
    *,
    seconds: float | None = None,
    count: int | None = None,
    connections: int = 16,
    tool: str = "auto",
    unpinned: bool = False,
) -> LoadResult:
    """Load ``127.0.0.1:port`` with ``workload`` from another process pinned to the client CPU (or not)."""
    use_wrk = tool == "wrk" or (tool == "auto" and count is None and shutil.which("wrk") is not None)
    cpu = None if unpinned else client_cpu()
    if use_wrk:
        assert seconds is not None
        return _wrk(port, workload, seconds, connections, cpu)
    return _python(port, workload, seconds, count, connections, cpu)


# -- wrk -----------------------------------------------------------------------------------------
def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for ASCII text


def _wrk(port: int, workload: Workload, seconds: float, connections: int, cpu: int | None) -> LoadResult:
    lines = [f"wrk.method = {_lua_string(workload.method)}", f"wrk.body = {_lua_string(workload.body.decode())}"]
    lines.append('wrk.headers["Content-Type"] = "application/json"')
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in workload.headers]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(seconds, 1):g}s", "--timeout", "10s", "-s", script.name]
        proc = subprocess.Popen([*argv, f"http://{HOST}:{port}{workload.path}"], stdout=subprocess.PIPE, text=True)
        pin(proc.pid, cpu)
        out, _ = proc.communicate(timeout=seconds + 60)
    finally:
        Path(script.name).unlink()
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s|m)\b", out)
    if proc.returncode != 0 or total is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out}")
    unit = {"s": 1.0, "ms": 0.001, "m": 60.0}[total.group(3)]
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return LoadResult(int(total.group(1)), float(total.group(2)) * unit, errors, "wrk")


# -- Python --------------------------------------------------------------------------------------
def _python(
    port: int, workload: Workload, seconds: float | None, count: int | None, connections: int, cpu: int | None
) -> LoadResult:
    argv = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--workload", json.dumps(workload.as_json())]
    argv += ["--connections", str(connections)]
    argv += ["--seconds", str(seconds)] if seconds is not None else ["--count", str(count)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    pin(proc.pid, cpu)
    limit = (seconds or 0) + 60 + (count or 0) / 500
    out, _ = proc.communicate(timeout=limit)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({proc.returncode}): {out}")
    data = json.loads(out)
    return LoadResult(data["responses"], data["seconds"], data["errors"], "python")


class _Counter:
    def __init__(self, count: int | None, deadline: float | None) -> None:
        self.left = count
        self.deadline = deadline
        self.responses = 0
        self.errors = 0

    def take(self) -> bool:
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return False
        if self.left is not None:
            if self.left <= 0:
                return False
            self.left -= 1
        return True


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    match = re.search(rb"\r\ncontent-length:\s*(\d+)", lower)
    if match:
        await reader.readexactly(int(match.group(1)))
    elif b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _connection(port: int, request: bytes, counter: _Counter) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while counter.take():
            writer.write(request)
            try:
                status = await asyncio.wait_for(_read_response(reader), 10)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                counter.errors += 1
                return
            counter.responses += 1
            if not 200 <= status < 300:
                counter.errors += 1
    finally:
        writer.close()


async def _main(port: int, workload: Workload, seconds: float | None, count: int | None, connections: int) -> None:
    request = workload.raw(HOST, port)
    start = time.perf_counter()
    counter = _Counter(count, None if seconds is None else start + seconds)
    await asyncio.gather(*(_connection(port, request, counter) for _ in range(connections)))
    elapsed = time.perf_counter() - start
    print(json.dumps({"responses": counter.responses, "seconds": elapsed, "errors": counter.errors}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workload", required=True, help="JSON of a Workload")
    parser.add_argument("--connections", type=int, default=16)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--seconds", type=float)
    group.add_argument("--count", type=int)
    args = parser.parse_args(argv)
    workload = Workload.from_json(json.loads(args.workload))
    asyncio.run(_main(args.port, workload, args.seconds, args.count, args.connections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
