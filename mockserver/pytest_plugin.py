"""pytest plugin of ainative-contract-kit: fixtures ``ainative_mock`` and ``ainative_server``.

Registered through the ``pytest11`` entry point; opt out with ``-p no:ainative_mock``.
Behaviour lives in :mod:`mockserver.testing` (the mocks), :mod:`mockserver.options` (the marker's
options) and :mod:`mockserver.netguard` (no live calls); this module only wires them into pytest.
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
from mockserver.options import MockOptions, OptionError
from mockserver.recording import RECORD_MODES, Recorder, cassette_path, decide
from mockserver.state import RUNTIME_SETTINGS
from mockserver.testing import CLEARED_ENV, InProcessMock, MockController, ServedMock

MARKER = (
    MockOptions.signature() + ": configure the ainative_mock or ainative_server fixture for this test, class or "
    "module (nearest marker wins). Settings take the names of `ainative-mock serve` options; queued_replies is a "
    "list of reply texts, queued_faults a list of fault names or dicts ({'fault': 'http_error', 'status': 429, "
    "'times': 2}); cassette names recorded traffic to replay (a directory or file under cassettes/ next to the "
    "test file; see --ainative-record). See mockserver.options.MockOptions."
)


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


def _options(request: pytest.FixtureRequest, fixture: str) -> MockOptions:
    marker = request.node.get_closest_marker("ainative_mock")
    if marker is None:
        return MockOptions()
    if marker.args:
        raise pytest.UsageError("@pytest.mark.ainative_mock takes keyword arguments only")
    try:
        options = MockOptions.from_marker(marker.kwargs)
        options.check_for(fixture)
    except OptionError as exc:
        raise pytest.UsageError(f"@pytest.mark.ainative_mock on {fixture}: {exc}") from None
    return options


def _build_config(request: pytest.FixtureRequest, settings: dict[str, Any]) -> MockConfig:
    config = request.config
    seed = config.getoption("--ainative-mock-seed") or config.getini("ainative_mock_seed") or None
    file = config.getoption("--ainative-mock-config") or config.getini("ainative_mock_config") or None
    if file and not config.getoption("--ainative-mock-config"):
        file = str(config.rootpath / file)
    try:
        return load_config({**({"seed": seed} if seed else {}), **settings}, env={}, config_file=file)
    except (ConfigError, KeyError) as exc:
        raise pytest.UsageError(f"ainative_mock marker or options: {exc}") from None


def _guard(request: pytest.FixtureRequest, owner: str, recording: str = "") -> NetworkGuard | None:
    """The production guard of a fixture: none with --ainative-allow-live; the conformance target passes."""
    if request.config.getoption("--ainative-allow-live"):
        return None
    target = request.config.getoption("ainative_base_url", None)  # contracts.suite's option, if loaded
    allow = [urlsplit(target).hostname or ""] if target else []
    return NetworkGuard(owner, allow=[*allow, recording] if recording else allow)  # recording: its upstream


def _cassette(request: pytest.FixtureRequest, options: MockOptions) -> tuple[dict[str, Any], Recorder | None]:
    """Replay settings for the marker's ``cassette``, or the recorder that makes it (--ainative-record)."""
    if options.cassette is None:
        return {}, None
    path = cassette_path(options.cassette, request.path)
    mode = request.config.getoption("--ainative-record")
    try:
        if decide(mode, path) == "replay":
            return {"cassettes": str(path)}, None
        return {}, Recorder(path, rewrite=mode == "rewrite")
    except CassetteError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


def _prime(controller: MockController, options: MockOptions, monkeypatch: pytest.MonkeyPatch) -> None:
    """Queue the marker's replies and faults; point the clients' variables at the mock."""
    for text in options.queued_replies:
        controller.reply(text)
    for fault in options.queued_faults:
        spec: dict[str, Any] = {"fault": fault} if isinstance(fault, str) else dict(fault)
        controller.queue_fault(str(spec.pop("fault")), int(spec.pop("times", 1)), **spec)
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in controller.env().items():
        monkeypatch.setenv(name, value)


def _check(controller: MockController, options: MockOptions) -> None:
    if options.check_unused:
        controller.assert_all_used()


@pytest.fixture
def ainative_mock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessMock]:
    """A fresh in-process AINative mock, serving every httpx/httpx2 client (openai too) with no socket.

    Serves every httpx and httpx2 client (httpx, openai, ainative-openai, ainative-agent,
    ainative-python) sent to its ``base_url`` or an AINative API host; sets AINATIVE_BASE_URL,
    AINATIVE_API_KEY, OPENAI_BASE_URL and OPENAI_API_KEY; blocks any other way to *.ainative.studio.
    Has control methods (``set_key``, ``fail_next``, ``queue_fault``, ``reply``...), the journal
    (``requests``, ``assert_requested()``, ``get_request()``) and ready clients, closed at teardown.
    Configure with ``@pytest.mark.ainative_mock(...)``.
    """
    options = _options(request, "ainative_mock")
    replay, recorder = _cassette(request, options)
    mock = InProcessMock(
        _build_config(request, {**replay, **options.config_settings()}), pass_through=options.pass_through,
        allow_live=True, name="ainative_mock",
    )  # fmt: skip
    _prime(mock, options, monkeypatch)
    guard = _guard(request, "ainative_mock", recorder.upstream_host if recorder else "")
    with guard or nullcontext(), mock, recorder or nullcontext():  # the recorder, started last, wins
        yield mock
        _check(mock, options)
        mock.assert_all_expected()


@pytest.fixture(scope="session")
def _ainative_served(request: pytest.FixtureRequest) -> Iterator[ServedMock]:
    """The session's real mock server (one per xdist worker)."""
    with ServedMock(_build_config(request, {})) as served:
        yield served


@pytest.fixture
def ainative_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedMock]:
    """The AINative mock on a real socket (127.0.0.1, free port; one server per worker, reset per test).

    Same control surface as ``ainative_mock``; also sets AINATIVE_BASE_URL, AINATIVE_API_KEY,
    OPENAI_BASE_URL and OPENAI_API_KEY for the test (restored afterwards). Use it for
    ``requests``, subprocesses, browsers and stream timing.
    """
    options = _options(request, "ainative_server")
    replay, recorder = _cassette(request, options)
    if recorder is not None:
        pytest.fail("recording cassettes works with the ainative_mock fixture; replay them here", pytrace=False)
    settings = {**replay, **options.config_settings()}
    own = None
    if set(settings) - RUNTIME_SETTINGS:  # startup settings: this test gets a server of its own
        own = served = ServedMock(_build_config(request, settings)).start()
    else:
        served = request.getfixturevalue("_ainative_served")
        served.reset()
        try:
            served.configure(**settings)
        except (ConfigError, ValueError, TypeError) as exc:
            raise pytest.UsageError(f"ainative_mock marker or options: {exc}") from None
    try:
        _prime(served, options, monkeypatch)
        with _guard(request, "ainative_server") or nullcontext():
            yield served
        _check(served, options)
    finally:
        served.close_clients()
        if own is not None:
            own.stop()
        else:
            served.reset()
