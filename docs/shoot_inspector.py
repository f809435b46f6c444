"""Take the inspector screenshot the README shows (``docs/inspector.png``).

Run from the repository root: ``python docs/shoot_inspector.py``. It serves a mock in this process
on a free port of 127.0.0.1, opens its inspector page in Debian's headless Chromium (1280x860),
sends five requests with httpx (a plain 200, a streamed 200, a 429 and a cut stream from queued
faults, and a 402 from the magic key ``ak_test_insufficient_credits``), opens the streamed 200 in
the journal and saves the viewport to ``docs/inspector.png``. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

from mockserver.app import AINativeMock
from mockserver.config import MockConfig
from mockserver.server import ServerThread

OUTPUT = Path(__file__).resolve().parent / "inspector.png"
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-sync",
]
"""As in tests/browser: headless, and none of Chromium's own traffic (updates, field trials, sync)."""
CHAT = "/api/v1/chat/completions"
KEY = "ak_demo_0c5e7f3a"  # long enough that the page shows its last 4 (ak_…7f3a)
MAGIC_402 = "ak_test_insufficient_credits"


def chromium_executable() -> str:
    """Debian's ``chromium`` (Playwright cannot download its own browser here)."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        sys.exit("chromium is not installed: `apt-get install -y chromium`")
    return path


def chat(client: httpx.Client, key: str, body: dict[str, Any]) -> int:
    """POST ``body`` with ``key``, reading a stream to its end (or to the cut); the status."""
    headers = {"X-API-Key": key}
    if not body.get("stream"):
        return client.post(CHAT, headers=headers, json=body).status_code
    with client.stream("POST", CHAT, headers=headers, json=body) as response:
        try:
            for _ in response.iter_lines():
                pass
        except httpx.RemoteProtocolError:  # the queued disconnect fault cuts the stream
            pass
        return response.status_code


def send_requests(client: httpx.Client) -> list[int]:
    """The five requests of the picture, oldest first; their statuses."""
    statuses = [
        chat(client, KEY, {"model": "gpt-4o", "messages": [{"role": "user", "content": "What is ZeroDB?"}]}),
        chat(
            client,
            KEY,
            {
                "stream": True,
                "model": "claude-3-5-sonnet-20241022",
                "messages": [{"role": "user", "content": "Count to 5"}],
            },
        ),
    ]
    client.post("/_mock/faults", json={"fault": "http_error", "status": 429, "retry_after": 2}).raise_for_status()
    statuses.append(chat(client, KEY, {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}))
    client.post("/_mock/faults", json={"fault": "disconnect", "after_chunks": 3}).raise_for_status()
    statuses.append(
        chat(
            client,
            KEY,
            {"stream": True, "model": "gpt-4o", "messages": [{"role": "user", "content": "Tell me a long story"}]},
        )
    )
    statuses.append(
        chat(
            client,
            MAGIC_402,
            {"model": "claude-3-5-sonnet-20241022", "messages": [{"role": "user", "content": "Hello"}]},
        )
    )
    return statuses


def arrange(page: Page) -> None:
    """Open the streamed 200 and scroll the journal to just under the sticky header."""
    rows = page.locator("#entries tr")
    expect(rows).to_have_count(5, timeout=5000)
    stream_row = rows.filter(has_text="SSE").filter(has_text="claude-3-5-sonnet-20241022")
    expect(stream_row).to_have_count(1)
    stream_row.click()
    expect(page.locator("#detail .stream-events")).to_contain_text("data: [DONE]")
    expect(page.locator("#accounts tr", has_text=MAGIC_402)).to_be_visible()
    page.evaluate(
        """() => {
            const header = document.querySelector("header.top").getBoundingClientRect().height;
            const journal = document.querySelector("#journal").getBoundingClientRect().top + window.scrollY;
            window.scrollTo(0, journal - header - 16);
        }"""
    )
    page.wait_for_timeout(300)  # let the scroll and fonts settle


def main() -> None:
    mock = AINativeMock(MockConfig())
    server = ServerThread(mock.app).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
            context = browser.new_context(viewport=VIEWPORT)
            foreign: list[str] = []
            context.on(
                "request",
                lambda r: None if r.url.startswith((server.base_url, "data:")) else foreign.append(r.url),
            )
            page = context.new_page()
            page.goto(server.base_url + "/")
            expect(page.locator("#live")).to_have_text("live", timeout=5000)
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                statuses = send_requests(client)
            if statuses != [200, 200, 429, 200, 402]:
                sys.exit(f"unexpected statuses {statuses}")
            arrange(page)
            page.screenshot(path=str(OUTPUT))
            browser.close()
            if foreign:
                sys.exit(f"the page contacted other hosts: {foreign}")
    finally:
        server.stop()
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
