"""Fixtures of the browser tests: real headless Chromium (Debian's), mocks on 127.0.0.1, a second origin.

Playwright runs through its sync API in fixtures scoped to one module, not pytest-playwright's
session-wide ones: the sync API leaves its event loop set as the thread's running loop for as
long as it runs, which breaks ``asyncio.run`` in every later test of the same xdist worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from mockserver.app import AINativeMock
from mockserver.config import MockConfig
from mockserver.server import ServerThread
from tests.browser.browser_support import CHROMIUM_ARGS, Frontend, Served, artifacts_dir, chromium_executable, host_of


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            # One worker runs every browser test in a row, so one Chromium serves a module at a time.
            item.add_marker(pytest.mark.xdist_group("browser"))
            item.add_marker(pytest.mark.socket)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium, launched once per module."""
    executable = chromium_executable()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def serve_mock() -> Iterator[Callable[..., Served]]:
    """Factory of mocks on 127.0.0.1: ``serve_mock(**MockConfig fields)``; stopped at teardown."""
    servers: list[ServerThread] = []

    def build(**settings: Any) -> Served:
        mock = AINativeMock(MockConfig(**settings))
        server = ServerThread(mock.app).start()
        servers.append(server)
        return Served(mock, server)

    yield build
    for server in servers:
        server.stop()


@pytest.fixture
def served(serve_mock: Callable[..., Served]) -> Served:
    """A mock with the default config on 127.0.0.1."""
    return serve_mock()


@pytest.fixture
def frontend(tmp_path: Path) -> Iterator[Frontend]:
    """A second origin, ``http://localhost:PORT``, to call the mock from (as a developer's app would)."""
    site = Frontend(tmp_path / "site")
    site.folder.mkdir()
    site.server = ServerThread(site.app()).start()
    yield site
    site.server.stop()


@pytest.fixture
def browser_context(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    """A fresh browser context; at teardown, fails if any page sent a request off this machine."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    yield context
    context.close()
    foreign = [url for url in seen if host_of(url).split(":")[0] not in ("127.0.0.1", "localhost", "data", "blob")]
    assert not foreign, f"pages contacted hosts other than the mock and the test frontend: {foreign}"
    assert not errors, f"uncaught errors in the pages: {errors}"
    request.node.requested_urls = seen


@pytest.fixture
def inspector(browser_context: BrowserContext) -> Page:
    """A browser page for the mock's inspector."""
    return browser_context.new_page()


@pytest.fixture
def app_page(browser_context: BrowserContext) -> Page:
    """A second browser page, for a frontend on another origin."""
    return browser_context.new_page()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``shot(page, step)`` saves a full-page screenshot as ``artifacts/browser/<test>--<step>.png``."""
    folder = artifacts_dir(request.config.rootpath)
    name = request.node.name.replace("/", "_")

    def take(page: Page, step: str) -> Path:
        path = folder / f"{name}--{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
