"""Peers users could pick instead of the mock, installed into bench/.peers/ (gitignored).

* ``llmock`` (PyPI): its own venv, run with its own CLI (``llmock serve``), echo replies of 20 pieces.
* fallback when llmock cannot be installed or run: Stoplight Prism 5.14 (npm), spec-driven, serving
  this repository's OpenAPI document (non-streaming only).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    API_KEY,
    CHAT_PATH,
    PEERS,
    WORDS,
    Server,
    Workload,
    chat_body,
    clean_env,
    free_port,
    start_command,
)

__all__ = ["LLMOCK_PROMPT", "Peer", "ensure_llmock", "ensure_prism", "start_llmock", "start_prism"]

LLMOCK_VENV = PEERS / "llmock-venv"
LLMOCK_SPEC = "llmock"
LLMOCK_PROMPT = " ".join(WORDS[2:19])
"""llmock's echo style answers ``Hello! You said: <prompt>``: 3 + 17 = 20 content pieces."""
PRISM_DIR = PEERS / "prism"
PRISM_SPEC = "@stoplight/prism-cli@5.14"


@dataclass
class Peer:
    name: str
    version: str
    workloads: dict[str, Workload]  # "json" and, if it streams, "sse"
    note: str


def _run(argv: list[str], timeout: float) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-1500:]}")


def ensure_llmock(install: bool) -> str:
    """Install llmock into its own venv if needed; returns its version."""
    python = LLMOCK_VENV / "bin" / "python"
    if not (LLMOCK_VENV / "bin" / "llmock").exists():
        if not install:
            raise RuntimeError(f"llmock is not installed in {LLMOCK_VENV} (run without --quick to install it)")
        PEERS.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "venv", str(LLMOCK_VENV)], 120)
        _run([str(python), "-m", "pip", "install", "--quiet", LLMOCK_SPEC], 600)
    out = subprocess.run(
        [str(python), "-c", "from importlib.metadata import version as v; print(v('llmock'), v('uvicorn'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    llmock, uvicorn = out.stdout.split()
    stack = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.util as u; print(bool(u.find_spec('uvloop')), bool(u.find_spec('httptools')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    loop = "uvloop" if stack[0] == "True" else "asyncio"
    http = "httptools" if stack[1] == "True" else "h11"
    return f"llmock {llmock} (uvicorn {uvicorn}, {loop} / {http} as its CLI picks them)"


def llmock_workloads() -> dict[str, Workload]:
    headers = (("Authorization", f"Bearer {API_KEY}"),)
    path = "/v1/chat/completions"
    return {
        "json": Workload(path, chat_body(False, LLMOCK_PROMPT, "gpt-4o-mini"), headers),
        "sse": Workload(path, chat_body(True, LLMOCK_PROMPT, "gpt-4o-mini"), headers),
    }


def start_llmock(log_dir: Path, same_stack: bool = False) -> Server:
    """``llmock serve`` on a free port (echo replies, log level warning).

    ``same_stack``: instead run llmock's app under uvicorn with the mock's stack and settings
    (asyncio loop, h11, no access log, lifespan off), to separate app cost from server stack.
    """
    port = free_port()
    env = clean_env()
    env["LLMOCK_RESPONSE_STYLE"] = "echo"
    bin_dir = LLMOCK_VENV / "bin"
    if same_stack:
        argv = [str(bin_dir / "python"), "-m", "uvicorn", "llmock.main:create_app", "--factory"]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--loop", "asyncio", "--http", "h11"]
        argv += ["--log-level", "warning", "--no-access-log", "--lifespan", "off"]
        name = "llmock-same-stack"
    else:
        argv = [str(bin_dir / "llmock"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--log-level", "warning", "--response-style", "echo"]
        name = "llmock"
    return start_command(name, argv, port, log_dir, env)


def ensure_prism(install: bool) -> str:
    prism = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not prism.exists():
        if not install:
            raise RuntimeError(f"prism is not installed in {PRISM_DIR}")
        if shutil.which("npm") is None:
            raise RuntimeError("npm is not installed (apt-get install -y npm)")
        PRISM_DIR.mkdir(parents=True, exist_ok=True)
        _run(["npm", "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund", PRISM_SPEC], 600)
    return f"Stoplight Prism ({PRISM_SPEC})"


def prism_workloads() -> dict[str, Workload]:
    return {"json": Workload(CHAT_PATH, chat_body(False), (("X-API-Key", API_KEY),))}


def start_prism(log_dir: Path) -> Server:
    import contracts

    spec = log_dir / "openapi.json"
    spec.write_text(json.dumps(contracts.load_openapi()), encoding="utf-8")
    port = free_port()
    prism = PRISM_DIR / "node_modules" / ".bin" / "prism"
    return start_command("prism", [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)], port, log_dir)
