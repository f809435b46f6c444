"""The built wheel ships the whole contract and works when installed away from the checkout.

The wheel is built from a copy of the package inputs (pyproject, readme, packages), so the build
leaves nothing in the checkout. It is built with build isolation: pyproject's license is a PEP 639
string, which needs a newer setuptools than a development venv may hold.
"""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.slow

PROBE = """
import json, sys
target, purelib = sys.argv[1], sys.argv[2]
sys.path[:0] = [target]
sys.path.append(purelib)
import contracts
from jsonschema import Draft202012Validator
for name in contracts.schema_names():
    schema = contracts.load_schema(name)
    Draft202012Validator.check_schema(schema)
    contracts.validator_for(name)
    for example in schema.get("examples", []):
        contracts.validate(name, example)
document = contracts.load_openapi()
print(json.dumps({
    "file": contracts.__file__,
    "names": list(contracts.schema_names()),
    "components": sorted(document["components"]["schemas"]),
    "paths": sorted(document["paths"]),
    "modules": sorted(m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)),
}))
"""


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def top_level_packages(pyproject: dict[str, Any]) -> list[str]:
    included = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted({name.split(".")[0] for name in included})


@pytest.fixture(scope="module")
def pyproject(repo_root: Path) -> dict[str, Any]:
    """The checkout's parsed pyproject.toml."""
    return tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def wheel(repo_root: Path, pyproject: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the checkout's package inputs."""
    source = tmp_path_factory.mktemp("source")
    readme = pyproject["project"]["readme"]
    if not (repo_root / readme).is_file():
        pytest.fail(f"pyproject.toml names readme {readme!r}, which is missing: the wheel cannot be built")
    for name in ("pyproject.toml", readme):
        shutil.copy2(repo_root / name, source / name)
    for package in top_level_packages(pyproject):
        shutil.copytree(repo_root / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-w", out, source, cwd=out
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel_file,) = out.glob("ainative_contract_kit-*.whl")
    return wheel_file


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    """Every file name inside the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_ships_every_schema_file_byte_for_byte(wheel: Path, repo_root: Path) -> None:
    schema_files = sorted((repo_root / "contracts" / "schemas").glob("*.json"))
    assert len(schema_files) == 10
    with zipfile.ZipFile(wheel) as archive:
        for path in schema_files:
            assert archive.read(f"contracts/schemas/{path.name}") == path.read_bytes(), path.name


def test_wheel_ships_openapi_json_and_type_markers(wheel: Path, wheel_names: set[str], repo_root: Path) -> None:
    assert {"contracts/openapi.json", "contracts/py.typed", "mockserver/py.typed"} <= wheel_names
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("contracts/openapi.json") == (repo_root / "contracts" / "openapi.json").read_bytes()


def test_wheel_ships_every_python_module_of_the_packages(
    wheel_names: set[str], repo_root: Path, pyproject: dict[str, Any]
) -> None:
    modules = {
        path.relative_to(repo_root).as_posix()
        for package in top_level_packages(pyproject)
        for path in (repo_root / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    missing = sorted(modules - wheel_names)
    assert not missing, f"make [tool.setuptools.packages.find] in pyproject.toml include them: {missing}"


def test_wheel_ships_no_tests_or_scripts(wheel_names: set[str]) -> None:
    top_level = {name.split("/", 1)[0] for name in wheel_names}
    assert top_level == {"contracts", "mockserver", "ainative_contract_kit-0.1.0.dist-info"}


def test_wheel_entry_points(wheel: Path, wheel_names: set[str]) -> None:
    (entry_points_file,) = [name for name in wheel_names if name.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    with zipfile.ZipFile(wheel) as archive:
        parser.read_string(archive.read(entry_points_file).decode())
    assert dict(parser["console_scripts"]) == {"ainative-mock": "mockserver.cli:main"}
    assert dict(parser["pytest11"]) == {
        "ainative_mock": "mockserver.pytest_plugin",
        "ainative_conformance": "contracts.suite.plugin",
    }
    assert {"mockserver/cli.py", "mockserver/pytest_plugin.py"} <= wheel_names


def test_installed_wheel_loads_the_contract_without_the_checkout(wheel: Path, repo_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    installed = run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--disable-pip-version-check",
        "--target",
        target,
        wheel,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # -I -S: no PYTHONPATH, no cwd, no .pth files (so not the editable install's finder);
    # the probe puts only the installed wheel and the dependencies' site-packages on sys.path.
    purelib = sysconfig.get_paths()["purelib"]
    probe = run(sys.executable, "-I", "-S", "-c", PROBE, target, purelib, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout)
    assert Path(report["file"]).is_relative_to(target)
    assert report["names"] == sorted(path.stem for path in (repo_root / "contracts" / "schemas").glob("*.json"))
    assert len(report["components"]) == len(report["names"])
    assert "/api/v1/chat/completions" in report["paths"]
    checkout_packages = [repo_root / "contracts", repo_root / "mockserver"]
    from_checkout = [name for name in report["modules"] if any(Path(name).is_relative_to(p) for p in checkout_packages)]
    assert from_checkout == []


def test_wheel_ships_the_inspector_page_files(wheel_names: set[str], repo_root: Path) -> None:
    static = {p.relative_to(repo_root).as_posix() for p in (repo_root / "mockserver" / "static").iterdir()}
    assert {"mockserver/static/index.html", "mockserver/static/app.js", "mockserver/static/docs.html"} <= static
    missing = sorted(static - wheel_names)
    assert not missing, f"add them to [tool.setuptools.package-data] in pyproject.toml: {missing}"
