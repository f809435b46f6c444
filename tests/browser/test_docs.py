"""`/docs` in a real Chromium: the packaged Swagger UI renders the served /openapi.json; "try it out" works."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.browser_support import Served

KEY = "ak_docs_try_it_out_1234"


def test_docs_render_the_served_document_and_try_it_out_reaches_the_mock(
    served: Served, inspector: Page, shot: Callable[[Page, str], Path]
) -> None:
    page = inspector
    page.goto(served.base_url + "/docs")
    expect(page.locator(".information-container .title")).to_contain_text("AINative")
    document = httpx.get(served.base_url + "/openapi.json").json()
    operations = [m for item in document["paths"].values() for m in item if m in ("get", "post", "put", "delete")]
    expect(page.locator(".opblock")).to_have_count(len(operations))
    shot(page, "1-rendered")

    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.locator("#api_key_value").fill(KEY)  # the X-API-Key scheme
    dialog.locator("button.authorize").first.click()
    dialog.locator("button.btn-done").first.click()

    operation = page.locator(".opblock", has=page.locator("[data-path='/api/v1/models']")).first
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    live = operation.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status").first).to_have_text("200", timeout=5000)
    expect(live.locator("tbody .response-col_description").first).to_contain_text("gpt-4o")
    shot(page, "2-try-it-out")

    (entry,) = served.mock.state.requests()
    assert (entry.method, entry.path, entry.status, entry.key) == ("GET", "/api/v1/models", 200, "ak_…1234")


def test_docs_list_the_control_api(served: Served, inspector: Page) -> None:
    inspector.goto(served.base_url + "/docs")
    for path in ("/_mock/events", "/_mock/accounts", "/_mock/faults", "/_mock/config"):
        expect(inspector.locator(f"[data-path='{path}']").first).to_be_attached()
