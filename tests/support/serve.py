"""``ainative-mock serve`` in a subprocess, as users run it (one worker or several), for tests across processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Serve", "cmdline", "end_process", "socket_count"]


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


def socket_count(pid: int) -> int:
    """How many sockets process ``pid`` holds open (a worker's connections, among others)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


def end_process(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Stop ``process`` (SIGTERM, then SIGKILL after ``timeout`` s) and wait for it, draining its pipes."""
    process.terminate()
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
