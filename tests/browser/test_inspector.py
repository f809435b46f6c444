"""The inspector page at ``/`` in a real Chromium: live journal, ledger, faults, settings, escaping.

A second page on another origin (``http://localhost:PORT``) plays the developer's frontend and
calls the mock with ``fetch``, as an app would. Screenshots of each step go to
``artifacts/browser/`` (see README, "The inspector").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.browser_support import Frontend, Served, call_mock, host_of

CHAT = "/api/v1/chat/completions"
KEY = "ak_browser_page_1234"
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "What is ZeroDB?"}]}


def open_inspector(page: Page, served: Served, path: str = "/") -> None:
    page.goto(served.base_url + path)
    expect(page.locator("#live")).to_have_text("live", timeout=5000)


def test_journal_shows_a_request_from_another_origin_within_a_second(
    served: Served, frontend: Frontend, inspector: Page, app_page: Page, shot: Callable[[Page, str], Path]
) -> None:
    navigations: list[str] = []
    inspector.on("framenavigated", lambda frame: navigations.append(frame.url))
    open_inspector(inspector, served)
    shot(inspector, "1-loaded")
    app_page.goto(frontend.base_url)

    answer = call_mock(app_page, served.base_url + CHAT, KEY, BODY)
    assert answer["status"] == 200
    row = inspector.locator("#entries tr").first
    expect(row).to_contain_text(CHAT, timeout=1000)  # pushed: within 1 s of the answer, no reload
    for text in ("POST", "gpt-4o", "200", "ak_…1234"):
        expect(row).to_contain_text(text)
    usage = answer["json"]["usage"]
    expect(row.locator("td").nth(8)).to_have_text(str(usage["total_tokens"]))
    assert navigations == [served.base_url + "/"], f"the page reloaded or navigated: {navigations}"
    assert "ak_browser_page_1234" not in inspector.content(), "the page shows a key unmasked"

    row.click()
    detail = inspector.locator("#detail")
    expect(detail.locator(".request-body")).to_contain_text("What is ZeroDB?")
    expect(detail.locator(".response-body")).to_contain_text(answer["json"]["id"])
    expect(detail.locator(".response-body")).to_contain_text("No model ran here")
    shot(inspector, "2-request-arrived")


def test_stream_events_are_shown_for_a_streamed_request(
    served: Served, frontend: Frontend, inspector: Page, app_page: Page, shot: Callable[[Page, str], Path]
) -> None:
    open_inspector(inspector, served)
    app_page.goto(frontend.base_url)
    answer = call_mock(app_page, served.base_url + CHAT, KEY, {**BODY, "stream": True})
    events = [line for line in answer["text"].split("\n\n") if line]
    row = inspector.locator("#entries tr").first
    expect(row).to_contain_text(f"SSE {len(events)}", timeout=1000)
    row.click()
    shown = inspector.locator("#detail .stream-events")
    expect(shown).to_contain_text("data: [DONE]")
    assert shown.inner_text().strip().split("\n") == events
    shot(inspector, "stream-events")


def test_a_stream_under_way_has_a_row_until_its_entry_arrives(
    serve_mock: Callable[..., Served],
    frontend: Frontend,
    inspector: Page,
    app_page: Page,
    shot: Callable[[Page, str], Path],
) -> None:
    served = serve_mock(tokens_per_second=8)  # a few seconds per stream
    open_inspector(inspector, served)
    app_page.goto(frontend.base_url)
    app_page.evaluate(
        """([url, key, body]) => {
            const headers = {"Content-Type": "application/json", "X-API-Key": key};
            window.streamed = fetch(url, {method: "POST", headers, body: JSON.stringify(body)})
                .then((response) => response.text());
        }""",
        [served.base_url + CHAT, KEY, {**BODY, "stream": True}],
    )
    under_way = inspector.locator("#entries tr.in-flight")
    expect(under_way).to_have_count(1, timeout=1000)  # while the reply is still streaming
    expect(under_way).to_contain_text("streaming")
    expect(under_way).to_contain_text(CHAT)
    expect(under_way).to_contain_text("ak_…1234")
    expect(inspector.locator("#journal-empty")).to_be_hidden()
    expect(inspector.locator("#journal-count")).to_have_text("1 streaming")
    shot(inspector, "stream-under-way")
    text = app_page.evaluate("() => window.streamed")  # (waits for the stream to end)
    assert text.rstrip().endswith("data: [DONE]")
    expect(under_way).to_have_count(0, timeout=2000)  # replaced by its entry
    rows = inspector.locator("#entries tr", has_text=CHAT)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("SSE")
    expect(inspector.locator("#journal-count")).to_have_text("1 shown")


def test_no_polling_while_idle(served: Served, inspector: Page) -> None:
    open_inspector(inspector, served)
    inspector.wait_for_timeout(500)  # let the first loads settle
    requests: list[str] = []
    inspector.on("request", lambda r: requests.append(r.url))
    inspector.wait_for_timeout(2500)
    assert requests == [], f"the page asked the mock for something while nothing happened: {requests}"


def test_editing_credits_in_the_page_makes_the_next_request_402(
    served: Served, frontend: Frontend, inspector: Page, app_page: Page, shot: Callable[[Page, str], Path]
) -> None:
    open_inspector(inspector, served)
    app_page.goto(frontend.base_url)
    assert call_mock(app_page, served.base_url + CHAT, KEY, BODY)["status"] == 200
    account = inspector.locator("#accounts tr", has_text="ak_…1234")
    expect(account).to_be_visible(timeout=2000)
    account.locator("input[name=credits]").fill("0")
    account.locator("button", has_text="Save").click()
    expect(account.locator(".balance")).to_have_text("0 / 0")
    shot(inspector, "1-credits-set-to-0")

    answer = call_mock(app_page, served.base_url + CHAT, KEY, BODY)
    assert answer["status"] == 402, answer
    assert answer["message"] == "Insufficient credits"
    expect(inspector.locator("#entries tr").first.locator(".status")).to_have_text("402", timeout=1000)
    expect(inspector.locator("#entries tr").first.locator("td").nth(8)).to_have_text("")  # no tokens used
    shot(inspector, "2-next-request-402")


def test_setting_a_key_by_value_in_the_page(served: Served, inspector: Page) -> None:
    open_inspector(inspector, served)
    form = inspector.locator("#key-form")
    form.locator("input[name=key]").fill("ak_typed_in_page_9876")
    form.locator("input[name=credits]").fill("5")
    form.locator("select[name=plan]").select_option("free")
    form.locator("input[name=rpm]").fill("7")
    form.locator("button").click()
    account = inspector.locator("#accounts tr", has_text="ak_…9876")
    expect(account).to_contain_text("free")
    expect(account.locator(".balance")).to_have_text("5 / 5")
    balance = httpx.get(
        served.base_url + "/api/v1/public/credits/balance", headers={"X-API-Key": "ak_typed_in_page_9876"}
    ).json()
    assert (balance["total_credits"], balance["plan"]) == (5, "free")
    assert served.mock.state.ledger.account("ak_typed_in_page_9876").rpm == 7


def test_queued_429_is_read_with_retry_after_by_the_other_page(
    served: Served, frontend: Frontend, inspector: Page, app_page: Page, shot: Callable[[Page, str], Path]
) -> None:
    open_inspector(inspector, served)
    inspector.locator("#f-retry").fill("3")
    inspector.locator("[data-fault='429']").click()
    expect(inspector.locator("#pending li")).to_contain_text("429")
    shot(inspector, "1-429-queued")

    app_page.goto(frontend.base_url)
    answer = call_mock(app_page, served.base_url + CHAT, KEY, BODY)
    assert (answer["status"], answer["retryAfter"]) == (429, "3"), answer
    assert call_mock(app_page, served.base_url + CHAT, KEY, BODY)["status"] == 200  # queued for one request
    expect(inspector.locator("#pending-empty")).to_be_visible()
    expect(inspector.locator("#entries tr").nth(1)).to_contain_text("429 retry 3s")
    shot(inspector, "2-429-read")


def test_every_fault_button_queues_its_fault(served: Served, inspector: Page) -> None:
    open_inspector(inspector, served)
    inspector.locator("#f-after").fill("3")
    inspector.locator("#f-ms").fill("1500")
    for kind in ("429", "402", "503", "disconnect", "malformed_chunk", "error_frame", "stall"):
        inspector.locator(f"[data-fault='{kind}']").click()
    expect(inspector.locator("#pending li")).to_have_count(7)
    pending = served.mock.state.pending()["faults"]
    assert [(f["fault"], f.get("status"), f.get("after_chunks"), f.get("ms")) for f in pending] == [
        ("http_error", 429, None, None),
        ("http_error", 402, None, None),
        ("http_error", 503, None, None),
        ("disconnect", None, 3, None),
        ("malformed_chunk", None, 3, None),
        ("error_frame", None, 3, None),
        ("stall", None, 3, 1500),
    ]
    inspector.locator("#faults-clear").click()
    expect(inspector.locator("#pending li")).to_have_count(0)
    assert served.mock.state.pending()["faults"] == []


def test_runtime_settings_edit_and_reset(
    served: Served, frontend: Frontend, inspector: Page, app_page: Page, shot: Callable[[Page, str], Path]
) -> None:
    open_inspector(inspector, served)
    form = inspector.locator("#settings-form")
    form.locator("input[name=ttft_ms]").fill("5")
    form.locator("input[name=tokens_per_second]").fill("500")
    form.locator("select[name=error_style]").select_option("openai")
    form.locator("input[name=fault_rate]").fill("0")
    form.locator("input[name=seed]").fill("42")
    form.locator("button").click()
    expect(inspector.locator("#toast")).to_contain_text("Settings applied")
    config = served.mock.state.config
    assert (config.ttft_ms, config.tokens_per_second, config.error_style, config.seed) == (5, 500, "openai", 42)

    app_page.goto(frontend.base_url)
    answer = call_mock(app_page, served.base_url + CHAT, "ak_test_insufficient_credits", BODY)
    assert answer["json"]["error"]["message"]  # openai error style now
    expect(inspector.locator("#entries tr")).to_have_count(1, timeout=1000)
    shot(inspector, "1-settings-applied")

    inspector.locator("#reset").click()
    expect(inspector.locator("#entries tr")).to_have_count(0)
    expect(form.locator("select[name=error_style]")).to_have_value("detail")
    assert served.mock.state.config.error_style == "detail"
    assert served.mock.state.journal.total == 0


def test_reset_elsewhere_clears_the_journal_in_the_page(served: Served, inspector: Page) -> None:
    open_inspector(inspector, served)
    httpx.post(served.base_url + CHAT, headers={"X-API-Key": KEY}, json=BODY)
    expect(inspector.locator("#entries tr")).to_have_count(1, timeout=1000)
    httpx.post(served.base_url + "/_mock/reset")
    expect(inspector.locator("#entries tr")).to_have_count(0, timeout=2500)


def test_models_and_magic_keys_are_listed(serve_mock: Callable[..., Served], inspector: Page) -> None:
    from mockserver.chat import MAGIC_KEYS, MAGIC_MODELS
    from mockserver.models import models_from_config

    models = models_from_config(
        [{"id": "gated-model", "price": 2.5, "plans": ["enterprise"], "context_window": 8000}, {"id": "open-model"}]
    )
    served = serve_mock(models=models)
    open_inspector(inspector, served, "/_mock/ui")
    rows = inspector.locator("#model-rows tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("gated-model")
    expect(rows.nth(0)).to_contain_text("2.5")
    expect(rows.nth(0)).to_contain_text("enterprise")
    expect(rows.nth(1)).to_contain_text("all plans")
    magic = inspector.locator("#magic").inner_text()
    for name in [*MAGIC_KEYS, *MAGIC_MODELS]:
        assert name in magic


def test_connection_snippets_carry_the_real_address(served: Served, inspector: Page) -> None:
    open_inspector(inspector, served)
    base = served.base_url
    for tab, expected in (
        ("curl", f"curl -sS {base}/api/v1/chat/completions"),
        ("python", f'OpenAI(base_url="{base}/api/v1"'),
        ("fetch", f'fetch("{base}/api/v1/chat/completions"'),
        ("react", f'baseUrl: "{base}/api/v1"'),
    ):
        inspector.locator(f"[data-snippet={tab}]").click()
        expect(inspector.locator("#snippet")).to_contain_text(expected)


def test_request_content_is_shown_as_text_never_run(
    served: Served, frontend: Frontend, inspector: Page, app_page: Page, shot: Callable[[Page, str], Path]
) -> None:
    open_inspector(inspector, served)
    app_page.goto(frontend.base_url)
    hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>'
    body = {"model": hostile, "messages": [{"role": "user", "content": hostile}]}
    call_mock(app_page, served.base_url + CHAT, KEY, body)
    call_mock(app_page, served.base_url + CHAT, KEY, {**BODY, "messages": [{"role": "user", "content": hostile}]})
    expect(inspector.locator("#entries tr")).to_have_count(2, timeout=1000)
    inspector.locator("#entries tr").first.click()
    expect(inspector.locator("#detail .request-body")).to_contain_text("<script>window.__pwned = 1</script>")
    inspector.locator("#entries tr").nth(1).click()
    expect(inspector.locator("#entries tr").nth(1)).to_contain_text("<script>")  # the model column, as text
    assert inspector.evaluate("window.__pwned") is None
    assert inspector.locator("main img, main b, #entries script, #detail script").count() == 0
    shot(inspector, "escaped")


def test_page_contacts_only_the_mock(served: Served, frontend: Frontend, inspector: Page, app_page: Page) -> None:
    hosts: set[str] = set()
    inspector.on("request", lambda r: hosts.add(host_of(r.url)))
    open_inspector(inspector, served)
    app_page.goto(frontend.base_url)
    call_mock(app_page, served.base_url + CHAT, KEY, BODY)
    expect(inspector.locator("#entries tr")).to_have_count(1, timeout=1000)
    inspector.locator("#entries tr").first.click()
    for tab in ("python", "fetch", "react", "curl"):
        inspector.locator(f"[data-snippet={tab}]").click()
    inspector.goto(served.base_url + "/docs")
    inspector.locator(".opblock").first.wait_for()
    mock_host = host_of(served.base_url)
    assert hosts - {"data"} == {mock_host}, hosts


def test_admin_token_is_asked_for_and_used(serve_mock: Callable[..., Served], inspector: Page) -> None:
    served = serve_mock(admin_token="s3cret-admin-token")
    inspector.goto(served.base_url + "/")
    expect(inspector.locator("#token-bar")).to_be_visible()
    expect(inspector.locator("#live")).to_contain_text("admin token")
    inspector.locator("#admin-token").fill("s3cret-admin-token")
    inspector.locator("#token-save").click()
    expect(inspector.locator("#live")).to_have_text("live", timeout=5000)
    expect(inspector.locator("#model-rows tr")).to_have_count(len(served.mock.state.config.models))


def test_changes_made_elsewhere_show_without_a_reload(served: Served, inspector: Page) -> None:
    from mockserver.models import models_from_config

    open_inspector(inspector, served)
    httpx.post(served.base_url + "/_mock/faults", json={"fault": "http_error", "status": 503})  # e.g. from curl
    expect(inspector.locator("#pending li")).to_contain_text("503", timeout=2500)
    served.mock.state.apply_file_changes({"models": models_from_config([{"id": "hot-reloaded-model"}])})
    expect(inspector.locator("#model-rows tr")).to_have_count(1, timeout=2500)
    expect(inspector.locator("#model-rows tr")).to_contain_text("hot-reloaded-model")


def test_typing_in_the_ledger_survives_requests_arriving(
    served: Served, frontend: Frontend, inspector: Page, app_page: Page
) -> None:
    open_inspector(inspector, served)
    app_page.goto(frontend.base_url)
    call_mock(app_page, served.base_url + CHAT, KEY, BODY)
    account = inspector.locator("#accounts tr", has_text="ak_…1234")
    account.locator("input[name=credits]").fill("12")
    before = account.locator(".balance").inner_text()
    call_mock(app_page, served.base_url + CHAT, KEY, BODY)
    expect(account.locator(".balance")).not_to_have_text(before, timeout=2000)  # refreshed...
    expect(account.locator("input[name=credits]")).to_have_value("12")  # ...and the typing kept
