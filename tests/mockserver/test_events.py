"""``GET /_mock/events`` (the live journal), ``/_mock/accounts``, responses kept in the journal, refusal log lines."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver.app import AINativeMock
from mockserver.config import MockConfig
from mockserver.server import ServerThread

KEY = "ak_events_test_1234"
CHAT = "/api/v1/chat/completions"
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}


class EventReader:
    """Reads ``/_mock/events`` in a thread; each SSE event lands in a queue as ``(event, data)``."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.status = 0
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=None))
        self._thread = threading.Thread(target=self._run, args=(url, headers or {}), daemon=True)
        self._thread.start()

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers={"Accept": "text/event-stream", **headers}) as response:
                self.status = response.status_code
                name = "message"
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        self.events.put((name, json.loads(line[6:])))
                        name = "message"
        except httpx.HTTPError:
            pass

    def next(self, timeout: float = 3.0, skip: tuple[str, ...] = ("changed",)) -> tuple[str, Any]:
        """The next event not named in ``skip`` (``changed`` comes whenever settings change)."""
        while True:
            event = self.events.get(timeout=timeout)
            if event[0] not in skip:
                return event

    def close(self) -> None:
        self._client.close()


@pytest.fixture
def served() -> Iterator[tuple[AINativeMock, str]]:
    mock = AINativeMock(MockConfig())
    with ServerThread(mock.app) as server:
        yield mock, server.base_url


@pytest.mark.socket
def test_events_send_hello_backlog_live_entries_and_reset(served: tuple[AINativeMock, str]) -> None:
    _, base = served
    httpx.post(base + CHAT, headers={"X-API-Key": KEY}, json=BODY)
    reader = EventReader(base + "/_mock/events")
    try:
        assert reader.next() == ("hello", {"total": 1, "backlog": 1})
        name, entry = reader.next()
        assert (name, entry["seq"], entry["path"], entry["key"]) == ("request", 1, CHAT, "ak_…1234")
        assert reader.status == 200
        streamed = httpx.post(base + CHAT, headers={"X-API-Key": KEY}, json={**BODY, "stream": True})
        name, started = reader.next()  # a stream is announced as it starts, and journaled when it ends
        assert (name, started["request_id"], started["path"], started["key"]) == (
            "started",
            streamed.headers["x-request-id"],
            CHAT,
            "ak_…1234",
        )
        name, entry = reader.next()
        assert (name, entry["seq"], entry["stream"]) == ("request", 2, True)
        assert entry["request_id"] == started["request_id"]
        assert entry["events"][-1] == "data: [DONE]\n\n" and entry["response"] is None
        assert entry["body"] == {**BODY, "stream": True}
        assert KEY not in json.dumps(entry)
        httpx.post(base + "/_mock/reset")
        httpx.post(base + CHAT, headers={"X-API-Key": KEY}, json=BODY)
        assert reader.next()[0] == "reset"
        name, entry = reader.next()
        assert (name, entry["seq"]) == ("request", 1)
        assert entry["response"]["object"] == "chat.completion"
        with pytest.raises(queue.Empty):
            reader.next(timeout=0.3)
    finally:
        reader.close()


@pytest.mark.socket
def test_a_stream_under_way_is_announced_before_it_ends() -> None:
    """A paced stream (about 1.5 s): ``started`` comes at once, its entry when the last event is sent."""
    mock = AINativeMock(MockConfig(tokens_per_second=20))
    with ServerThread(mock.app) as server:
        reader = EventReader(server.base_url + "/_mock/events")
        try:
            assert reader.next()[0] == "hello"
            with httpx.stream(
                "POST", server.base_url + CHAT, headers={"X-API-Key": KEY}, json={**BODY, "stream": True}, timeout=10
            ) as response:
                lines = response.iter_lines()
                assert next(lines).startswith("data: ")  # the role chunk: the stream is under way
                name, started = reader.next()
                request_id = response.headers["x-request-id"]
                assert (name, started["request_id"], started["stream"]) == ("started", request_id, True)
                with pytest.raises(queue.Empty):  # no entry while it streams
                    reader.next(timeout=0.3)
                rest = list(lines)
            assert "data: [DONE]" in rest
            name, entry = reader.next()
            assert (name, entry["request_id"], entry["status"]) == ("request", started["request_id"], 200)
        finally:
            reader.close()


@pytest.mark.socket
@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_events_end_after_the_backlog_unless_the_client_asks_for_a_stream(
    served: tuple[AINativeMock, str], accept: str | None
) -> None:
    """curl, fuzzers and plain GETs get the hello and the kept entries, and the response ends."""
    _, base = served
    httpx.post(base + CHAT, headers={"X-API-Key": KEY}, json=BODY)
    headers = {"Accept": accept} if accept else {}
    response = httpx.get(base + "/_mock/events", headers=headers, timeout=5)  # a stream that never ends times out
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert names == ["hello", "request"]
    assert 'data: {"total":1,"backlog":1}' in response.text


@pytest.mark.socket
def test_every_subscriber_gets_every_entry_once(served: tuple[AINativeMock, str]) -> None:
    _, base = served
    readers = [EventReader(base + "/_mock/events") for _ in range(3)]
    try:
        for reader in readers:
            assert reader.next()[0] == "hello"
        for _ in range(5):
            httpx.post(base + CHAT, headers={"X-API-Key": KEY}, json=BODY)
        for reader in readers:
            assert [reader.next()[1]["seq"] for _ in range(5)] == [1, 2, 3, 4, 5]
            with pytest.raises(queue.Empty):
                reader.next(timeout=0.3)
    finally:
        for reader in readers:
            reader.close()


@pytest.mark.socket
def test_events_say_when_settings_or_queued_faults_change(served: tuple[AINativeMock, str]) -> None:
    mock, base = served
    reader = EventReader(base + "/_mock/events")
    try:
        assert reader.next()[0] == "hello"
        httpx.put(base + "/_mock/config", json={"seed": 3})
        assert reader.next(skip=()) == ("changed", {})
        mock.state.queue_fault("http_error", status=500)
        assert reader.next(skip=()) == ("changed", {})
        with pytest.raises(queue.Empty):
            reader.next(timeout=1.5, skip=())  # nothing changed since
    finally:
        reader.close()


@pytest.mark.socket
def test_events_need_the_admin_token_when_set() -> None:
    mock = AINativeMock(MockConfig(admin_token="t0ken-for-events"))
    with ServerThread(mock.app) as server:
        assert httpx.get(server.base_url + "/_mock/events").status_code == 401
        reader = EventReader(server.base_url + "/_mock/events", {"X-Admin-Token": "t0ken-for-events"})
        try:
            assert reader.next()[0] == "hello"
        finally:
            reader.close()


def test_events_and_accounts_refuse_pages_on_other_sites_and_log_how_to_allow_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = TestClient(AINativeMock(MockConfig()).app)
    with caplog.at_level(logging.WARNING, logger="mockserver"):
        for path in ("/_mock/events", "/_mock/accounts", "/_mock/accounts"):
            response = client.get(path, headers={"Origin": "https://evil.example"})
            assert response.status_code == 403
    lines = [r.getMessage() for r in caplog.records if "evil.example" in r.getMessage()]
    assert lines == [
        "control API refused a page on https://evil.example (GET /_mock/events): to allow it, start with "
        "--cors-origin https://evil.example",
        "control API refused a page on https://evil.example (GET /_mock/accounts): to allow it, start with "
        "--cors-origin https://evil.example",
    ]  # once per origin and route, not once per request


def test_cors_refusal_logs_the_origin_and_how_to_allow_it(caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(AINativeMock(MockConfig(cors_origins=("http://localhost:3000",))).app)
    with caplog.at_level(logging.WARNING, logger="mockserver"):
        for _ in range(2):
            client.options(CHAT, headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"})
        client.post(CHAT, headers={"Origin": "http://localhost:3000", "X-API-Key": KEY}, json=BODY)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "CORS: refused a page on http://localhost:5173 (allowed: http://localhost:3000): to allow it, "
        "add --cors-origin http://localhost:5173"
    ]


def test_accounts_list_masked_keys_and_edit_by_id() -> None:
    mock = AINativeMock(MockConfig(credits=100))
    client = TestClient(mock.app)
    client.post(CHAT, headers={"X-API-Key": KEY}, json=BODY)
    client.post(CHAT, headers={"X-API-Key": "ak_test_insufficient_credits"}, json=BODY)
    listed = client.get("/_mock/accounts").json()
    assert KEY not in json.dumps(listed)
    (account,) = [a for a in listed["accounts"] if a["key"] == "ak_…1234"]
    assert account["total_credits"] == 100 and account["remaining_credits"] < 100 and account["plan"] == "pro"
    assert listed["magic_keys"]["ak_test_insufficient_credits"] == "402"
    (magic,) = [a for a in listed["accounts"] if a["key"] == "ak_test_insufficient_credits"]
    balance = client.get("/api/v1/public/credits/balance", headers={"X-API-Key": "ak_test_insufficient_credits"})
    assert magic["remaining_credits"] == balance.json()["remaining_credits"] == 0  # the page and the API agree
    assert listed["magic_models"]["mock-plan-gated"] == "403"
    changed = client.put(f"/_mock/accounts/{account['id']}", json={"credits": 0, "plan": "free", "rpm": 3})
    assert changed.status_code == 200
    assert mock.state.ledger.balance(KEY)["total_credits"] == 0
    assert mock.state.ledger.account(KEY).rpm == 3
    assert client.post(CHAT, headers={"X-API-Key": KEY}, json=BODY).status_code == 402
    missing = client.put("/_mock/accounts/0123456789abcdef", json={"credits": 1})
    assert missing.status_code == 404 and "GET /_mock/accounts" in missing.json()["detail"]
    assert client.put(f"/_mock/accounts/{account['id']}", json={"credits": -1}).status_code == 422


@pytest.mark.parametrize("wanted", ["%C3%B1%C3%9D%F0%AA%8E%9A", "%ED%A0%80", "%25"])
def test_an_account_id_that_is_not_ascii_is_a_404_not_a_500(wanted: str) -> None:
    client = TestClient(AINativeMock(MockConfig()).app)
    client.post(CHAT, headers={"X-API-Key": KEY}, json=BODY)
    response = client.put(f"/_mock/accounts/{wanted}", json={"credits": 1})
    assert response.status_code == 404, response.text


def test_accounts_need_the_admin_token_when_set() -> None:
    client = TestClient(AINativeMock(MockConfig(admin_token="t0ken")).app)
    assert client.get("/_mock/accounts").status_code == 401
    assert client.put("/_mock/accounts/0123456789abcdef", json={}).status_code == 401
    assert client.get("/_mock/accounts", headers={"X-Admin-Token": "t0ken"}).status_code == 200


def test_journal_keeps_the_response_of_errors_too() -> None:
    mock = AINativeMock(MockConfig())
    client = TestClient(mock.app)
    client.post(CHAT, headers={"X-API-Key": "ak_test_insufficient_credits"}, json=BODY)
    entry = client.get("/_mock/requests").json()["requests"][0]
    assert entry["status"] == 402 and entry["response"] == {"detail": "Insufficient credits"}
    assert entry["events"] is None and entry["at"] > 0


def test_the_inspector_served_beyond_loopback_works_with_the_admin_token() -> None:
    mock = AINativeMock(MockConfig(host="0.0.0.0", admin_token="t0ken"))
    client = TestClient(mock.app, base_url="http://192.168.1.20:8000")
    own = {"Origin": "http://192.168.1.20:8000"}
    assert client.get("/_mock/accounts", headers=own).status_code == 401  # the token is still required
    assert client.get("/_mock/accounts", headers={**own, "X-Admin-Token": "t0ken"}).status_code == 200
    other = {"Origin": "http://192.168.1.21:8000", "X-Admin-Token": "t0ken"}
    assert client.get("/_mock/accounts", headers=other).status_code == 403


def test_without_an_admin_token_the_own_origin_is_not_enough() -> None:
    # A DNS-rebound page has the mock's host name as its origin: only loopback names are trusted.
    client = TestClient(AINativeMock(MockConfig()).app, base_url="http://rebound.example:8000")
    assert client.get("/_mock/accounts", headers={"Origin": "http://rebound.example:8000"}).status_code == 403
