"""pytest plugin of ainative-contract-kit: fixtures ``ainative_mock`` and ``ainative_server``.

Registered through the ``pytest11`` entry point; opt out with ``-p no:ainative_mock``.
Behaviour lives in :mod:`mockserver.testing`; this module only wires it into pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

import pytest

from mockserver.cassettes import CassetteError
from mockserver.config import ConfigError, MockConfig, load_config
from mockserver.netguard import NetworkGuard
from mockserver.recording import RECORD_MODES, Recorder, cassette_path, decide
from mockserver.testing import CLEARED_ENV, InProcessMock, MockController, ServedMock

MARKER = (
    "ainative_mock(*, credits=None, plan=None, rpm=None, tpm=None, unavailable_models=None, faults=None, "
    "fault_rate=None, error_style=None, seed=None, ttft_ms=None, tokens_per_second=None, replies=None, "
    "scripted_replies=None, queued_faults=None, check_unused=True, cassette=None, **settings): configure the "
    "ainative_mock or ainative_server fixture for this test, class or module (nearest marker wins). Settings take "
    "the names of `ainative-mock serve` options; scripted_replies is a list of reply texts, queued_faults a list "
    "of fault names or dicts ({'fault': 'http_error', 'status': 429, 'times': 2}); cassette names recorded "
    "traffic to replay (a directory or file under cassettes/ next to the test file; see --ainative-record)."
)
_PLUGIN_ONLY = ("scripted_replies", "queued_faults", "check_unused", "pass_through", "cassette")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ainative_mock", "AINative mock (ainative-contract-kit)")
    group.addoption(
        "--ainative-mock-config",
        metavar="FILE",
        default=None,
        help="TOML/YAML mock config applied to every ainative_mock/ainative_server fixture",
    )
    group.addoption("--ainative-mock-seed", metavar="N", default=None, help="seed of every mock (default 0)")
    group.addoption(
        "--ainative-allow-live",
        action="store_true",
        default=False,
        help="let tests using the mock fixtures reach AINative's real hosts (*.ainative.studio); off by default",
    )
    group.addoption(
        "--ainative-record",
        choices=RECORD_MODES,
        default="none",
        help="cassettes of @pytest.mark.ainative_mock(cassette=...): none (default) replays only; once records "
        "missing ones through the proxy against $AINATIVE_UPSTREAM; rewrite records them all again",
    )
    parser.addini("ainative_mock_config", "TOML/YAML mock config file for every mock fixture", default="")
    parser.addini("ainative_mock_seed", "seed of every mock fixture", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def _suite_settings(config: pytest.Config) -> tuple[dict[str, Any], str | None]:
    seed = config.getoption("--ainative-mock-seed") or config.getini("ainative_mock_seed") or None
    file = config.getoption("--ainative-mock-config") or config.getini("ainative_mock_config") or None
    if file and not config.getoption("--ainative-mock-config"):
        file = str(config.rootpath / file)
    return ({"seed": seed} if seed else {}), file


def _allow_live(config: pytest.Config) -> bool:
    return bool(config.getoption("--ainative-allow-live"))


def _guard(request: pytest.FixtureRequest, owner: str, recording: str = "") -> NetworkGuard | None:
    """The production guard of a fixture: none with --ainative-allow-live; the conformance target passes."""
    if _allow_live(request.config):
        return None
    target = request.config.getoption("ainative_base_url", None)  # contracts.suite's option, if loaded
    allow = [urlsplit(target).hostname or ""] if target else []
    return NetworkGuard(owner, allow=[*allow, recording] if recording else allow)  # recording: its upstream


def _cassette(request: pytest.FixtureRequest, extras: dict[str, Any]) -> tuple[dict[str, Any], Recorder | None]:
    """Replay settings for the marker's ``cassette``, or the recorder that makes it (--ainative-record)."""
    if extras.get("cassette") is None:
        return {}, None
    path = cassette_path(extras["cassette"], request.path)
    mode = request.config.getoption("--ainative-record")
    try:
        if decide(mode, path) == "replay":
            return {"cassettes": str(path)}, None
        return {}, Recorder(path, rewrite=mode == "rewrite")
    except CassetteError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


def _set_env(monkeypatch: pytest.MonkeyPatch, controller: MockController) -> None:
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in controller.env().items():
        monkeypatch.setenv(name, value)


def _marker_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("ainative_mock")
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError("@pytest.mark.ainative_mock takes keyword arguments only")
    return dict(marker.kwargs)


def _split(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    extras = {name: settings.pop(name) for name in _PLUGIN_ONLY if name in settings}
    return settings, extras


def _prime(controller: MockController, extras: dict[str, Any]) -> None:
    for text in extras.get("scripted_replies") or ():
        controller.reply(text)
    for fault in extras.get("queued_faults") or ():
        spec: dict[str, Any] = {"fault": fault} if isinstance(fault, str) else dict(fault)
        controller.queue_fault(str(spec.pop("fault")), int(spec.pop("times", 1)), **spec)


def _build_config(request: pytest.FixtureRequest, settings: dict[str, Any]) -> MockConfig:
    suite, file = _suite_settings(request.config)
    try:
        return load_config({**suite, **settings}, env={}, config_file=file)
    except (ConfigError, KeyError) as exc:
        raise pytest.UsageError(f"ainative_mock marker or options: {exc}") from None


@pytest.fixture
def ainative_mock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessMock]:
    """A fresh in-process AINative mock; httpx calls to https://api.ainative.studio are served by it.

    Serves every httpx and httpx2 client (httpx, openai, ainative-openai, ainative-agent,
    ainative-python) sent to its ``base_url`` or an AINative API host; sets AINATIVE_BASE_URL,
    AINATIVE_API_KEY, OPENAI_BASE_URL and OPENAI_API_KEY; blocks any other way to *.ainative.studio.
    Has control methods (``set_key``, ``fail_next``, ``queue_fault``, ``reply``...), the journal
    (``requests``, ``last_request``, ``count()``) and ready clients. Configure with
    ``@pytest.mark.ainative_mock(...)``.
    """
    settings, extras = _split(_marker_settings(request))
    replay, recorder = _cassette(request, extras)
    settings = {**replay, **settings}
    guard = _guard(request, "ainative_mock", recorder.upstream_host if recorder else "")
    mock = InProcessMock(
        _build_config(request, settings), pass_through=extras.get("pass_through", True), allow_live=True,
        name="ainative_mock",
    )  # fmt: skip
    _prime(mock, extras)
    _set_env(monkeypatch, mock)
    with guard or nullcontext(), mock, recorder or nullcontext():  # the recorder, started last, wins
        yield mock
        if extras.get("check_unused", True):
            mock.assert_all_used()
        mock.assert_all_expected()


@pytest.fixture(scope="session")
def _ainative_served(request: pytest.FixtureRequest) -> Iterator[ServedMock]:
    """The session's real mock server (one per xdist worker)."""
    with ServedMock(_build_config(request, {})) as served:
        yield served


@pytest.fixture
def ainative_server(
    _ainative_served: ServedMock, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServedMock]:
    """The AINative mock on a real socket (127.0.0.1, free port; one server per worker, reset per test).

    Same control surface as ``ainative_mock``; also sets AINATIVE_BASE_URL, AINATIVE_API_KEY,
    OPENAI_BASE_URL and OPENAI_API_KEY for the test (restored afterwards). Use it for
    ``requests``, subprocesses, browsers and stream timing.
    """
    served = _ainative_served
    settings, extras = _split(_marker_settings(request))
    replay, recorder = _cassette(request, extras)
    if recorder is not None:
        pytest.fail("recording cassettes works with the ainative_mock fixture; replay them here", pytrace=False)
    settings = {**replay, **settings}
    served.reset()
    if settings:
        try:
            served.configure(**settings)
        except (ConfigError, ValueError, TypeError) as exc:
            raise pytest.UsageError(f"ainative_mock marker on ainative_server: {exc}") from None
    _prime(served, extras)
    _set_env(monkeypatch, served)
    with _guard(request, "ainative_server") or nullcontext():
        yield served
    try:
        if extras.get("check_unused", True):
            served.assert_all_used()
    finally:
        served.reset()
