"""The plugin loads from an installed wheel through its ``pytest11`` entry point, not only from the checkout."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "contracts", "mockserver")

INSTALLED_TEST = """
import importlib.metadata
import os
from pathlib import Path

import httpx

import mockserver

TARGET = Path(os.environ["WHEEL_TARGET"]).resolve()


def test_the_plugin_comes_from_the_installed_wheel(pytestconfig):
    assert Path(mockserver.__file__).resolve().is_relative_to(TARGET), mockserver.__file__
    plugin = pytestconfig.pluginmanager.get_plugin("ainative_mock")
    assert Path(plugin.__file__).resolve().is_relative_to(TARGET), plugin.__file__
    (entry_point,) = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "ainative_mock"]
    assert entry_point.value == "mockserver.pytest_plugin"
    assert Path(entry_point.dist.locate_file("mockserver")).resolve().is_relative_to(TARGET)


def test_the_fixture_works(ainative_mock):
    ainative_mock.reply("from the wheel")
    response = httpx.post(
        "https://api.ainative.studio/v1/public/chat/completions",
        headers=ainative_mock.headers,
        json={"messages": [{"role": "user", "content": "Hi"}]},
    )
    assert response.json()["choices"][0]["message"]["content"] == "from the wheel"
"""


def _build_isolation_flags() -> list[str]:
    """``--no-build-isolation`` when the installed setuptools can build this project (PEP 639 needs >= 77)."""
    try:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        major = 0
    return ["--no-build-isolation"] if major >= 77 else []


def _pip(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.slow
def test_plugin_loads_from_an_installed_wheel(tmp_path: Path) -> None:
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in the checkout.
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.exists():
            shutil.copy2(path, source / name)
    wheels, target, project = tmp_path / "wheels", tmp_path / "site", tmp_path / "project"
    project.mkdir()
    _pip("wheel", "--no-deps", *_build_isolation_flags(), "-w", str(wheels), str(source), cwd=tmp_path)
    (wheel,) = wheels.glob("ainative_contract_kit-*.whl")
    _pip("install", "--no-deps", "--target", str(target), str(wheel), cwd=tmp_path)
    (project / "test_installed.py").write_text(INSTALLED_TEST, encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "AINATIVE_", "OPENAI_"))}
    env.update(PYTHONPATH=str(target), WHEEL_TARGET=str(target), PYTHONDONTWRITEBYTECODE="1")
    lean = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:schemathesis"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *lean, "-W", "error", "-v", "test_installed.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
