"""The disconnect fault as a browser's fetch sees it: exactly N complete events before the cut, every time.

Chromium fails a fetch body as soon as the connection drops, and may drop data that arrived with
the close: with no pause between the last event and the cut, it read 0 of 3 events in 125 of 200
runs (measured with ``mockserver.sse.DISCONNECT_LINGER_S = 0``). The test below also proves the
pause is what makes the difference, so the fix cannot be removed without a failing test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

import mockserver.sse
from tests.browser.browser_support import Served

READ_STREAMS = """async ([base, runs, after]) => {
  const counts = [];
  for (let i = 0; i < runs; i++) {
    let text = '';
    try {
      const response = await fetch(base + '/v1/chat/completions', {
        method: 'POST',
        headers: {'Content-Type': 'application/json', 'X-API-Key': 'ak_browser_0000001',
                  'X-Mock-Fault': 'disconnect; after_chunks=' + after},
        body: JSON.stringify({messages: [{role: 'user', content: 'Tell me about the AINative mock'}], stream: true}),
      });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        text += decoder.decode(value, {stream: true});
      }
    } catch (error) {}  // the cut: a network error once the events are read
    counts.push(text.split('\\n\\n').length - 1);
  }
  return counts;
}"""


def _counts(page: Page, served: Served, runs: int, after: int) -> Counter[int]:
    page.goto(served.base_url + "/health")  # same origin: no CORS in the way
    return Counter(page.evaluate(READ_STREAMS, [served.base_url, runs, after]))


def test_disconnect_after_3_gives_the_browser_3_events_200_times(
    serve_mock: Callable[..., Served], app_page: Page
) -> None:
    served = serve_mock(credits=10**12)
    assert _counts(app_page, served, 200, 3) == Counter({3: 200})


def test_without_the_pause_the_browser_loses_events(
    serve_mock: Callable[..., Served], app_page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mockserver.sse, "DISCONNECT_LINGER_S", 0.0)
    served = serve_mock(credits=10**12)
    counts = _counts(app_page, served, 100, 3)
    assert counts[3] < 100, f"every run delivered 3 events even without the pause: {counts}"
