"""Real npm clients in Chromium against the mock: ``@ainative/react-sdk`` 1.0.1 and the ``openai`` package.

Both are installed from npm by the fixtures (see ``npm_support.py``) and bundled with esbuild; the
page is served from another origin, as a developer's dev server would serve it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from mockserver.journal import JournalEntry
from tests.browser.browser_support import Frontend, Served
from tests.browser.npm_support import bundle

pytestmark = pytest.mark.slow

KEY = "ak_npm_clients_1234"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test pages' scripts, built once per module."""
    out = tmp_path_factory.mktemp("bundles")
    return {entry: bundle(entry, out) for entry in ("react_app.jsx", "openai_stream.js")}


def reply_content(entry: JournalEntry) -> str:
    """The reply text the mock sent, from the journal."""
    assert entry.response is not None
    content: str = json.loads(entry.response)["choices"][0]["message"]["content"]
    return content


def serve_bundle(frontend: Frontend, bundles: dict[str, Path], entry: str) -> str:
    built = bundles[entry]
    (frontend.folder / built.name).write_bytes(built.read_bytes())
    return frontend.page_with(built.stem, built.name)


def test_react_sdk_page_shows_a_reply_and_the_credits_panel(
    served: Served,
    frontend: Frontend,
    bundles: dict[str, Path],
    app_page: Page,
    shot: Callable[[Page, str], Path],
) -> None:
    url = serve_bundle(frontend, bundles, "react_app.jsx")
    app_page.goto(f"{url}?base={served.base_url}/api/v1&key={KEY}")
    expect(app_page.locator("#remaining")).to_have_text("1000000", timeout=10_000)
    expect(app_page.locator("#plan")).to_have_text("pro")

    app_page.locator("#send").click()
    reply = app_page.locator(".message.assistant .content")
    expect(reply).to_have_count(1, timeout=10_000)
    (entry,) = [e for e in served.mock.state.requests() if e.path.endswith("/chat/completions")]
    assert entry.path == "/api/v1/public/managed-chat/chat/completions" and entry.status == 200
    expect(reply).to_have_text(reply_content(entry))
    expect(app_page.locator("#consumed")).to_have_text(f"Credits consumed: {entry.charged:g}")

    app_page.locator("#refetch").click()
    balance = httpx.get(served.base_url + "/api/v1/public/credits/balance", headers={"X-API-Key": KEY}).json()
    expect(app_page.locator("#remaining")).to_have_text(f"{balance['remaining_credits']:g}")
    assert balance["remaining_credits"] < 1_000_000
    shot(app_page, "react-sdk")


def test_react_sdk_page_shows_the_mocks_error_message(
    served: Served, frontend: Frontend, bundles: dict[str, Path], app_page: Page
) -> None:
    served.mock.state.fail_next(402)
    url = serve_bundle(frontend, bundles, "react_app.jsx")
    app_page.goto(f"{url}?base={served.base_url}/api/v1&key={KEY}")
    app_page.locator("#send").click()
    expect(app_page.locator("#error")).to_have_text("Error: Insufficient credits", timeout=10_000)


def test_openai_npm_package_streams_in_the_browser(
    served: Served, frontend: Frontend, bundles: dict[str, Path], app_page: Page
) -> None:
    app_page.goto(serve_bundle(frontend, bundles, "openai_stream.js"))
    result = app_page.evaluate(
        "([base, key]) => window.streamWithOpenAI(base, key, 'Count to 5')", [served.base_url + "/api/v1", KEY]
    )
    assert result["text"] == "1, 2, 3, 4, 5"
    (entry,) = served.mock.state.requests()
    assert entry.stream and entry.status == 200 and not entry.disconnected
    assert result["chunks"] == entry.chunks_sent - 1  # every event but [DONE] is a chunk
    assert result["usage"] == entry.usage


def test_openai_npm_package_reads_the_mocks_errors(
    served: Served, frontend: Frontend, bundles: dict[str, Path], app_page: Page
) -> None:
    app_page.goto(serve_bundle(frontend, bundles, "openai_stream.js"))
    served.mock.state.fail_next(429, retry_after=2)
    error = app_page.evaluate("([base, key]) => window.openAIError(base, key)", [served.base_url + "/api/v1", KEY])
    assert error["name"] == "RateLimitError" and error["status"] == 429


def test_without_npm_the_client_tests_fail_rather_than_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.browser import npm_support

    monkeypatch.setattr(npm_support.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="npm is not installed"):
        npm_support.installed_packages()
