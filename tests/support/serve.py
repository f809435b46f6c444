"""``ainative-mock serve`` in a subprocess, as users run it (one worker or several), for tests across processes."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Serve", "client_connections", "cmdline", "end_process", "on_every_worker"]


class Serve:
    """``python -m mockserver serve --port 0 --quiet ARGS`` in a subprocess (stdout is not read after the banner)."""

    def __init__(self, *args: str) -> None:
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop(); not a pipe: nobody reads it meanwhile
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--log-level", "warning", "--quiet", *args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("AINATIVE_MOCK_")},
        )
        assert self.process.stdout is not None
        banner = "".join(self.process.stdout.readline() for _ in range(7))
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
        assert match, banner + self.stderr()
        self.banner = banner
        self.base_url = match.group(1)
        deadline = time.monotonic() + 60
        while True:  # the port is bound before the workers start: wait until one answers
            try:
                if httpx.get(self.base_url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the mock never answered"
            time.sleep(0.1)

    @property
    def port(self) -> int:
        """The port the mock listens on."""
        return int(self.base_url.rsplit(":", 1)[1])

    def workers(self) -> list[int]:
        """Pids of the worker processes (children of the server)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children if "spawn_main" in cmdline(int(pid))]

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> str:
        """Stop the server; returns what it wrote to stderr."""
        end_process(self.process, timeout=20)
        err = self.stderr()
        self.log.close()
        return err


def cmdline(pid: int) -> str:
    """The command line of process ``pid`` (NUL-separated), or "" if it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def client_connections(pid: int, port: int) -> int:
    """How many established TCP connections to local ``port`` process ``pid`` holds (its clients).

    A worker's own sockets (the listening one, Redis, pipes) are not counted: the connections are
    found in ``/proc/PID/net/tcp`` and ``tcp6`` by local port and state, then kept if the process
    holds their inode.
    """
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port and inode in inodes:  # 01: ESTABLISHED
                count += 1
    return count


def end_process(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Stop ``process`` (SIGTERM, then SIGKILL after ``timeout`` s) and wait for it, draining its pipes."""
    process.terminate()
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


async def on_every_worker(
    served: Serve, send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]], clients: int, attempts: int = 10
) -> list[httpx.Response]:
    """Bursts of ``clients`` requests at once (``send``), their connections held open, until every worker holds one.

    Which worker accepts a connection is the kernel's choice, and on a loaded machine one worker
    may take a whole burst: a test that means to involve every worker sends another burst then.
    Returns the responses of every burst (one server process: one burst).
    """
    answers: list[httpx.Response] = []
    held: list[int] = []
    for _ in range(attempts):
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=served.base_url, limits=limits, timeout=30) as client:
            answers += await asyncio.gather(*(send(client) for _ in range(clients)))
            held = [client_connections(pid, served.port) for pid in served.workers()]
        if all(held):
            return answers
    raise AssertionError(f"after {attempts} bursts of {clients} connections, a worker had none: {held} per worker")
