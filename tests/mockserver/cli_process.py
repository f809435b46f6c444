"""``ainative-mock serve`` as a real process: its output read line by line, its base URL, a clean stop."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

_LISTENING = re.compile(r"listening on (http://\S+)")


class ServeProcess:
    """``python -m mockserver serve ARGS`` on a free port (``--port 0``), stdout and stderr collected."""

    def __init__(self, *args: str, cwd: Path | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("AINATIVE_MOCK_CONFIG", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, args=(name, pipe, sink), daemon=True)
            for name, pipe, sink in (
                ("out", self.process.stdout, self.stdout),
                ("err", self.process.stderr, self.stderr),
            )
        ]
        for reader in self._readers:
            reader.start()
        try:
            self._wait_until_serving()
        except BaseException:
            self.stop()
            raise

    def _wait_until_serving(self) -> None:
        line = self.wait_for(_LISTENING.pattern, timeout=30)
        match = _LISTENING.search(line)
        assert match is not None
        self.base_url = match.group(1)
        deadline = time.monotonic() + 15
        while True:  # the port is bound before uvicorn listens on it
            try:
                httpx.get(self.base_url + "/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError(f"the server did not answer: {self.stdout} {self.stderr}") from None
                time.sleep(0.05)

    def _read(self, name: str, pipe: object, sink: list[str]) -> None:
        for line in pipe:  # type: ignore[attr-defined]
            sink.append(line.rstrip("\n"))
            self._lines.put((name, line.rstrip("\n")))

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        """The next output line (stdout or stderr) matching ``pattern``; fails after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no output line matched {pattern!r} in {timeout} s;\nstdout: {self.stdout}\nstderr: {self.stderr}"
                )
            try:
                _, line = self._lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if self.process.poll() is not None and self._lines.empty():
                    raise AssertionError(f"the server exited: {self.stdout} {self.stderr}") from None
                continue
            if re.search(pattern, line):
                return line

    def stop(self) -> None:
        """Interrupt the server and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for reader in self._readers:
            reader.join(timeout=5)  # until end of output, so nothing reads a closed pipe
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
