"""The README's browser snippet, run unchanged in Chromium from another origin: reply, errors, drops."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.browser_support import Frontend, Served

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SNIPPET = re.findall(r"```javascript\n(.*?)```", README, re.DOTALL)[0]
README_URL = "http://127.0.0.1:8000"


def run_snippet(page: Page, served: Served, key: str = "ak_your_key") -> dict[str, Any]:
    """Run the snippet as a page script would; what it logged, or the message of what it threw."""
    code = SNIPPET.replace(README_URL, served.base_url).replace('"ak_your_key"', f'"{key}"')
    wrapped = f"""async () => {{
        const logged = [];
        const console = {{ log: (value) => logged.push(String(value)) }};
        try {{
            {code}
        }} catch (error) {{
            return {{ logged, error: error.message }};
        }}
        return {{ logged, error: null }};
    }}"""
    result: dict[str, Any] = page.evaluate(wrapped)
    return result


@pytest.fixture
def page_elsewhere(frontend: Frontend, app_page: Page) -> Page:
    app_page.goto(frontend.base_url)
    return app_page


def test_snippet_prints_the_streamed_reply(served: Served, page_elsewhere: Page) -> None:
    assert run_snippet(page_elsewhere, served) == {"logged": ["1, 2, 3, 4, 5"], "error": None}


def test_snippet_shows_the_error_message_from_the_body(served: Served, page_elsewhere: Page) -> None:
    result = run_snippet(page_elsewhere, served, key="ak_test_insufficient_credits")
    assert result == {"logged": [], "error": "402: Insufficient credits"}
    served.mock.state.fail_next(429, retry_after=4)
    assert run_snippet(page_elsewhere, served)["error"].endswith("(retry in 4 s)")
    served.mock.state.update_config({"error_style": "openai"})
    assert run_snippet(page_elsewhere, served, key="ak_test_insufficient_credits")["error"].startswith("402: ")


def test_snippet_stops_on_an_in_band_error_frame(served: Served, page_elsewhere: Page) -> None:
    served.mock.state.queue_fault("error_frame", after_chunks=3)
    result = run_snippet(page_elsewhere, served)
    assert result == {"logged": [], "error": "Stream failed: The upstream model failed mid-stream"}


@pytest.mark.parametrize("params", [{"after_chunks": 3}, {"after_chunks": 0}])
def test_snippet_reports_a_dropped_connection(served: Served, page_elsewhere: Page, params: dict[str, int]) -> None:
    served.mock.state.queue_fault("disconnect", **params)
    result = run_snippet(page_elsewhere, served)
    assert result["logged"] == []
    assert result["error"].startswith(("Connection dropped mid-reply", "Connection closed before the end")), result


def test_snippet_reports_a_stream_that_ends_without_done(served: Served, page_elsewhere: Page) -> None:
    served.mock.state.queue_fault("no_done")
    result = run_snippet(page_elsewhere, served)
    assert result == {"logged": [], "error": 'Connection closed before the end of the reply; got: "1, 2, 3, 4, 5"'}
