"""What every part of the benchmark shares: the workload, server processes, SSE parsing, machine info."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEERS = BENCH / ".peers"
HOST = "127.0.0.1"
CHAT_PATH = "/v1/public/chat/completions"
API_KEY = "ak_bench_0000000001"

WORDS = [
    *("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"),
]
REPLY_TEXT = " ".join(WORDS)
"""The scripted reply: exactly 20 tokens, so a stream carries exactly 20 content chunks."""
REPLY_TOKENS = 20
PROMPT = "Say the numbers"


def chat_body(stream: bool, prompt: str = PROMPT, model: str | None = None) -> bytes:
    """JSON body of a chat completions request."""
    body: dict[str, object] = {"messages": [{"role": "user", "content": prompt}]}
    if model is not None:
        body["model"] = model
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Workload:
    """One kind of request a load generator repeats on keep-alive connections."""

    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "POST"

    def raw(self, host: str, port: int) -> bytes:
        """The request bytes, HTTP/1.1 keep-alive."""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines += ["Content-Type: application/json", f"Content-Length: {len(self.body)}", "", ""]
        return "\r\n".join(lines).encode() + self.body

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "body": self.body.decode(), "headers": list(self.headers), "method": self.method}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Workload:
        headers = data["headers"]
        assert isinstance(headers, list)
        return cls(
            str(data["path"]),
            str(data["body"]).encode(),
            tuple((str(k), str(v)) for k, v in headers),
            str(data["method"]),
        )


def mock_workload(stream: bool) -> Workload:
    """A valid chat request to the mock (and the bare app), with ``X-API-Key``."""
    return Workload(CHAT_PATH, chat_body(stream), (("X-API-Key", API_KEY),))


# -- config files --------------------------------------------------------------------------------
def write_mock_config(directory: Path, name: str, **settings: float) -> Path:
    """A TOML config for ``ainative-mock``: the 20-token reply rule plus ``settings``."""
    # Enough credits that 100,000+ requests on one key never hit 402 (the default is 1,000,000).
    lines = ["credits = 1000000000000", *(f"{key} = {value!r}" for key, value in settings.items())]
    lines += ["", "[[replies]]", 'match = ""', f"text = {json.dumps(REPLY_TEXT)}", ""]
    path = directory / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# -- processes -----------------------------------------------------------------------------------
def pin(pid: int, cpu: int | None) -> None:
    """Pin ``pid`` to one CPU when the machine has it (keeps server and load generator apart)."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    with contextlib.suppress(OSError):
        os.sched_setaffinity(pid, {cpu})


def cpus() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def server_cpu() -> int | None:
    available = cpus()
    return available[0] if len(available) >= 2 else None


def client_cpu() -> int | None:
    available = cpus()
    return available[1] if len(available) >= 2 else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {HOST}:{port} after {timeout:.0f}s")


@dataclass
class Server:
    """A server in its own process."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float:
        """VmRSS of the process, in MB (1 MB = 2**20 bytes)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc status")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_launcher(name: str, app: str, log_dir: Path, args: Sequence[str] = (), timeout: float = 30.0) -> Server:
    """``python -m bench.launcher APP``: serves on 127.0.0.1:0 and prints ``PORT n``."""
    log = log_dir / f"{name}.log"
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.launcher", app, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    pin(proc.pid, server_cpu())
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    port = 0
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if not line:
            break
        match = re.match(r"PORT (\d+)", line)
        if match:
            port = int(match.group(1))
            break
    if not port:
        proc.kill()
        raise RuntimeError(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")
    wait_for_port(port, proc, timeout)
    return Server(name, proc, port, log)


def start_command(
    name: str, argv: Sequence[str], port: int, log_dir: Path, env: dict[str, str] | None = None
) -> Server:
    """A server started by its own command line on ``port``."""
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(list(argv), cwd=log_dir, env=env or clean_env(), stdout=out, stderr=subprocess.STDOUT)
    pin(proc.pid, server_cpu())
    try:
        wait_for_port(port, proc, 60)
    except RuntimeError as exc:
        with contextlib.suppress(Exception):
            proc.kill()
        raise RuntimeError(f"{exc}: {log.read_text(errors='replace')[-1500:]}") from None
    return Server(name, proc, port, log)


def clean_env() -> dict[str, str]:
    """The environment without ``AINATIVE_MOCK_*`` and ``LLMOCK_*`` settings that would change a server."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AINATIVE_MOCK_", "LLMOCK_"))}


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


# -- one request on a raw socket -----------------------------------------------------------------
@dataclass
class Exchange:
    """One request/response on a fresh connection, with the arrival time of every SSE event."""

    status: int
    headers: dict[str, str]
    body: bytes
    sent_at: float
    events: list[tuple[float, bytes]]


def exchange(port: int, workload: Workload, timeout: float = 30.0) -> Exchange:
    """Send ``workload`` once on a new connection and read the whole response (chunked or sized)."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = workload.raw(HOST, port).replace(b"Content-Type:", b"Connection: close\r\nContent-Type:", 1)
        sock.sendall(request)
        sent_at = time.perf_counter()
        buffer = b""
        events: list[tuple[float, bytes]] = []
        while True:
            data = sock.recv(65536)
            now = time.perf_counter()
            if not data:
                break
            buffer += data
            head, sep, rest = buffer.partition(b"\r\n\r\n")
            if not sep:
                continue
            # Time each SSE event by the read that completed it.
            body = _decode_chunked(rest)[0] if b"chunked" in head.lower() else rest
            complete = body.split(b"\n\n")[:-1]
            events.extend((now, event + b"\n\n") for event in complete[len(events) :])
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    body = _decode_chunked(rest)[0] if headers.get("transfer-encoding") == "chunked" else rest
    return Exchange(status, headers, body, sent_at, events)


def _decode_chunked(data: bytes) -> tuple[bytes, int]:
    out = bytearray()
    pos = 0
    while True:
        end = data.find(b"\r\n", pos)
        if end < 0:
            break
        size = int(data[pos:end].split(b";")[0] or b"0", 16)
        if size == 0 or end + 2 + size > len(data):
            break
        out += data[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2
    return bytes(out), pos


def sse_content_deltas(body: bytes) -> list[str]:
    """Non-empty ``delta.content`` strings of an OpenAI SSE body, in order."""
    out = []
    for block in body.split(b"\n\n"):
        line = block.strip()
        if not line.startswith(b"data: ") or line == b"data: [DONE]":
            continue
        event = json.loads(line[6:])
        for choice in event.get("choices") or ():
            content = (choice.get("delta") or {}).get("content")
            if content:
                out.append(content)
    return out


# -- machine -------------------------------------------------------------------------------------
def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk = shutil.which("wrk")
    wrk_version = "not installed (Python load generator used)"
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        wrk_version = (
            (out.stdout + out.stderr).splitlines()[0].split(" Copyright")[0] if out.stdout + out.stderr else wrk
        )
    try:
        import httptools  # noqa: F401

        http_impl = "httptools"
    except ImportError:
        http_impl = "h11"
    try:
        import uvloop  # noqa: F401

        loop_impl = "uvloop"
    except ImportError:
        loop_impl = "asyncio"
    return {
        "CPU": model,
        "cores": f"{os.cpu_count()} ({len(cpus())} usable)",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "uvicorn": version("uvicorn"),
        "starlette": version("starlette"),
        "httpx": version("httpx"),
        "h11": version("h11"),
        "uvicorn loop/http (mock and bare)": f"{loop_impl} / {http_impl}",
        "load generator": wrk_version,
    }
