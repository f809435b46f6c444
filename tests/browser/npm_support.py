"""npm packages for the browser tests: installed once into a cache folder, bundled with esbuild.

The packages are pinned in ``npm_app/package.json``. They install into
``$AINATIVE_NPM_CACHE`` (default ``~/.cache/ainative-contract-kit/browser-npm``), never into the
repository, so a fresh clone works and a second run reuses them. Without npm, or when the registry
cannot be reached, the tests that need them fail, loudly: they are never skipped.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

APP = Path(__file__).parent / "npm_app"
CACHE_ENV = "AINATIVE_NPM_CACHE"


def cache_dir() -> Path:
    """Where ``node_modules`` lives (outside the repository)."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ainative-contract-kit" / "browser-npm"
    return Path(os.environ.get(CACHE_ENV) or default)


def _run(command: list[str], cwd: Path, timeout: float) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(command)}` did not finish in {timeout:.0f} s (is the npm registry reachable?)")
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def installed_packages() -> Path:
    """The cache folder with ``npm_app/package.json``'s packages installed (npm missing = a failure)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: the browser client tests need it (`apt-get install -y nodejs npm`)")
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    manifest = (APP / "package.json").read_bytes()
    stamp = hashlib.sha256(manifest).hexdigest()
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers and parallel runs install one at a time
        done = folder / ".installed"
        if not (done.exists() and done.read_text() == stamp and (folder / "node_modules").is_dir()):
            (folder / "package.json").write_bytes(manifest)
            _run([npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], folder, 600)
            done.write_text(stamp)
    return folder


def bundle(entry: str, out_dir: Path) -> Path:
    """``npm_app/<entry>`` bundled for the browser with esbuild into ``out_dir``; returns the file."""
    folder = installed_packages()
    esbuild = folder / "node_modules" / ".bin" / "esbuild"
    source = folder / entry
    shutil.copyfile(APP / entry, source)  # resolve imports from the cache's node_modules
    out = out_dir / (Path(entry).stem + ".js")
    _run(
        [
            str(esbuild),
            str(source),
            "--bundle",
            "--format=iife",
            "--jsx=automatic",
            "--define:process.env.NODE_ENV='\"production\"'",
            "--log-level=warning",
            f"--outfile={out}",
        ],
        folder,
        120,
    )
    return out
