"""Hostile input on a real socket: huge, deep, malformed and strange requests.

Each gets a 4xx (or a 200 when the input is in fact valid) with a clear JSON body where the app
answers; uvicorn may refuse malformed HTTP itself (400/431, plain text). Never a 5xx, never a
hang (every socket read has a timeout), and the server answers a valid request afterwards.
"""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from mockserver.testing import ServedMock
from tests.support.chat import CHAT_PATH, HEADERS, chat_bytes
from tests.support.checks import error_message
from tests.support.mocks import ServeFactory
from tests.support.raw_http import (
    CLOSED,
    Pipeline,
    RawResponse,
    chunked,
    connect,
    exchange,
    get,
    post,
    read_response,
    request_head,
)
from tests.support.server_insides import rss_bytes

pytestmark = [pytest.mark.reliability, pytest.mark.socket]

LIMIT = 1024 * 1024
"""The mock's default ``max_body_bytes``."""
JSON_HEADERS = {**HEADERS, "Content-Type": "application/json"}
USER_HI = {"role": "user", "content": "hi"}


def body_of(**fields: object) -> bytes:
    """A chat body with one user message and ``fields``, JSON-encoded."""
    return json.dumps({"messages": [USER_HI], **fields}).encode()


def with_length(body: bytes, headers: dict[str, str] | None = None, path: str = CHAT_PATH) -> bytes:
    """A whole POST request carrying ``body`` with its Content-Length."""
    return request_head("POST", path, headers or JSON_HEADERS, content_length=len(body)) + body


def just_over_the_limit() -> bytes:
    """A JSON body one byte larger than the limit (valid JSON up to the cut)."""
    return json.dumps({"messages": [{"role": "user", "content": "x" * LIMIT}]}).encode()[: LIMIT + 1]


@dataclass(frozen=True)
class Hostile:
    """One hostile request and what may come back.

    Attributes:
        build: the raw request bytes (or pieces, sent one after the other).
        statuses: acceptable statuses.
        app_answers: the app (not uvicorn) answers, so the body must be a JSON error or completion.
    """

    build: Callable[[], bytes | list[bytes]]
    statuses: frozenset[int]
    app_answers: bool = True
    method: str = "POST"
    sse: bool = False


def _case(
    build: Callable[[], bytes | list[bytes]], *statuses: int, app: bool = True, method: str = "POST", sse: bool = False
) -> Hostile:
    return Hostile(build, frozenset(statuses), app, method, sse)


HTTP_REFUSAL = (400, 431)
"""What uvicorn (h11) answers to malformed or oversized HTTP."""

CASES: dict[str, Hostile] = {
    # Size
    "over-limit-with-content-length": _case(lambda: with_length(just_over_the_limit()), 413),
    "over-limit-chunked-no-length": _case(
        lambda: (
            request_head("POST", CHAT_PATH, {**JSON_HEADERS, "Transfer-Encoding": "chunked"})
            + chunked(just_over_the_limit())
        ),
        413,
    ),
    "content-length-lies-big": _case(
        lambda: request_head("POST", CHAT_PATH, JSON_HEADERS, content_length=10 * LIMIT) + b'{"messages":', 413
    ),
    "900-kb-content": _case(
        lambda: with_length(json.dumps({"messages": [{"role": "user", "content": "y" * 900_000}]}).encode()), 200
    ),
    "10000-messages": _case(
        lambda: with_length(
            json.dumps({"messages": [{"role": "user", "content": f"m{i}"} for i in range(10_000)]}).encode()
        ),
        200,
    ),
    # Depth
    "100k-open-brackets": _case(lambda: with_length(b"[" * 100_000), 422),
    "100k-balanced-brackets": _case(lambda: with_length(b"[" * 100_000 + b"]" * 100_000), 422),
    "deep-array-inside-a-message": _case(
        lambda: with_length(b'{"messages":[{"role":"user","content":"x","x":' + b"[" * 50_000 + b"]" * 50_000 + b"}]}"),
        422,
    ),
    "deep-objects": _case(lambda: with_length(b'{"a":' * 50_000 + b"1" + b"}" * 50_000), 422),
    # Encoding and JSON oddities
    "invalid-utf8": _case(lambda: with_length(b'{"messages":[{"role":"user","content":"\xff\xfe\xc3("}]}'), 422),
    "utf8-bom": _case(lambda: with_length(b"\xef\xbb\xbf" + body_of()), 422),
    "escaped-nul-in-strings": _case(
        lambda: with_length(json.dumps({"messages": [{"role": "user", "content": "a\x00b"}], "user": "\x00"}).encode()),
        200,
    ),
    "raw-nul-in-a-string": _case(lambda: with_length(b'{"messages":[{"role":"user","content":"a\x00b"}]}'), 422),
    "lone-surrogate-escape": _case(
        lambda: with_length(b'{"messages":[{"role":"user","content":"\\ud800"}]}'), 200, 422
    ),
    "nan": _case(lambda: with_length(b'{"messages":[{"role":"user","content":"hi"}],"temperature":NaN}'), 422),
    "infinity": _case(lambda: with_length(b'{"messages":[{"role":"user","content":"hi"}],"top_p":-Infinity}'), 422),
    "overflowing-float-in-a-checked-field": _case(
        lambda: with_length(b'{"messages":[{"role":"user","content":"hi"}],"temperature":1e999}'), 422
    ),
    "5000-digit-integer": _case(
        lambda: with_length(b'{"messages":[{"role":"user","content":"hi"}],"seed":' + b"9" * 5000 + b"}"), 422
    ),
    "integral-float-max-tokens": _case(lambda: with_length(body_of(max_tokens=3.0)), 200, 422),
    "integral-float-max-tokens-stream": _case(
        lambda: with_length(body_of(max_tokens=2.0, stream=True)), 200, 422, sse=True
    ),
    "empty-body": _case(lambda: with_length(b""), 422),
    "json-array-body": _case(lambda: with_length(b"[]"), 422),
    "duplicate-keys": _case(
        lambda: with_length(b'{"messages":[],"messages":[{"role":"user","content":"hi"}]}'), 200, 422
    ),
    # Content types
    "text-plain": _case(lambda: with_length(body_of(), {**HEADERS, "Content-Type": "text/plain"}), 415),
    "form-urlencoded": _case(
        lambda: with_length(b"messages=hi", {**HEADERS, "Content-Type": "application/x-www-form-urlencoded"}), 415
    ),
    "multipart": _case(
        lambda: with_length(
            b"--x\r\n\r\nhi\r\n--x--\r\n", {**HEADERS, "Content-Type": "multipart/form-data; boundary=x"}
        ),
        415,
    ),
    "content-type-json-oddly-spelled": _case(
        lambda: with_length(body_of(), {**HEADERS, "Content-Type": "Application/JSON ; charset=UTF-8;;"}), 200
    ),
    "content-type-almost-json": _case(
        lambda: with_length(body_of(), {**HEADERS, "Content-Type": "application/jsonx"}), 415
    ),
    # HTTP framing (uvicorn may answer before the app)
    "100-kb-header-line": _case(
        lambda: request_head("GET", "/health", {"X-Padding": "a" * 100_000}),
        200,
        *HTTP_REFUSAL,
        app=False,
        method="GET",
    ),
    "100-kb-header-trickled": _case(
        lambda: [b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "] + [b"a" * 1024] * 100 + [b"\r\n\r\n"],
        200,
        CLOSED,  # uvicorn answers 400 past 64 KiB and closes: the rest of our header resets the connection
        *HTTP_REFUSAL,
        app=False,
        method="GET",
    ),
    "100-kb-api-key": _case(
        lambda: with_length(body_of(), {"X-API-Key": "ak_" + "k" * 100_000}), 200, 401, *HTTP_REFUSAL, app=False
    ),
    "content-length-not-a-number": _case(
        lambda: request_head("POST", CHAT_PATH, {**JSON_HEADERS, "Content-Length": "12abc"}) + body_of(),
        *HTTP_REFUSAL,
        app=False,
    ),
    "conflicting-content-lengths": _case(
        lambda: request_head("POST", CHAT_PATH, {**JSON_HEADERS, "Content-Length": "5"}, content_length=7) + b"{}{}{}{",
        *HTTP_REFUSAL,
        app=False,
    ),
    "not-http": _case(
        lambda: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n", *HTTP_REFUSAL, app=False
    ),
    # Paths
    "path-nul": _case(lambda: request_head("GET", "/%00", HEADERS), 404, method="GET"),
    "path-traversal": _case(lambda: request_head("GET", "/../../etc/passwd", HEADERS), 404, method="GET"),
    "path-10-kb": _case(lambda: request_head("GET", "/" + "a" * 10_000, HEADERS), 404, method="GET"),
    "path-percent-unicode": _case(lambda: request_head("GET", "/%E2%98%83/%F0%9F%92%A9", HEADERS), 404, method="GET"),
    "path-raw-utf8": _case(
        lambda: b"GET /\xe2\x98\x83 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 404, *HTTP_REFUSAL, app=False, method="GET"
    ),
    "chat-path-with-nul": _case(lambda: with_length(body_of(), path=CHAT_PATH + "%00"), 404),
    "query-junk": _case(
        lambda: request_head("GET", "/v1/models?%00=%ff&a=" + "%" * 50, HEADERS), 200, 400, method="GET"
    ),
}


@pytest.fixture(scope="module")
def hostile_mock() -> Iterator[ServedMock]:
    """One served mock for every hostile case (plenty of credits: some cases are valid and large)."""
    from mockserver.config import MockConfig

    with ServedMock(MockConfig(credits=10**9)) as mock:
        yield mock


def check_answer(name: str, case: Hostile, response: RawResponse) -> None:
    assert response.status < 500, f"{name}: server error {response.status}: {response.body[:300]!r}"
    assert response.status in case.statuses, f"{name}: {response.status} {response.body[:300]!r}"
    if case.sse and response.status == 200:
        assert response.content_type.startswith("text/event-stream"), f"{name}: {response.content_type!r}"
        assert response.body.endswith(b"data: [DONE]\n\n"), f"{name}: {response.body[-200:]!r}"
        return
    app_answered = response.content_type.startswith("application/json")
    if case.app_answers:
        assert app_answered, f"{name}: the app should answer in JSON, got {response.content_type!r}"
    if app_answered:
        body = response.json()  # strict: no NaN or Infinity
        if response.status >= 400:
            message = error_message(body)
            assert message, f"{name}: an error without a message: {body}"
            assert len(message) < 12_000, f"{name}: the error echoes the input back ({len(message)} chars)"


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_request_gets_a_clear_4xx_and_the_server_keeps_serving(hostile_mock: ServedMock, name: str) -> None:
    case = CASES[name]
    port = hostile_mock.server.port
    response = exchange(port, case.build(), method=case.method)
    check_answer(name, case, response)
    after = post(port, chat_bytes(max_tokens=4))
    assert after.status == 200, f"after {name}: {after.status} {after.body[:300]!r}"
    assert after.json()["choices"][0]["finish_reason"] in ("stop", "length")


def test_the_journal_stays_strict_json_after_hostile_numbers(serve: ServeFactory) -> None:
    """``1e999`` parses to infinity in Python; echoing it back (journal, errors) must not produce ``Infinity``."""
    mock = serve()
    port = mock.server.port
    for raw in (
        b'{"messages":[{"role":"user","content":"hi"}],"metadata":1e999}',
        b'{"messages":[{"role":"user","content":"hi"}],"provider":-1e999}',
    ):
        response = post(port, raw)
        assert response.status in (200, 422), response.body[:300]
        response.json()
    journal = get(port, "/_mock/requests")
    assert journal.status == 200
    journal.json()  # raises if the body carries Infinity, which no strict JSON parser accepts


def test_hostile_bodies_on_one_keep_alive_connection_keep_the_framing(hostile_mock: ServedMock) -> None:
    """Pipelined on one connection, every answer ends exactly where the next begins (unread bodies included)."""
    port = hostile_mock.server.port
    names = [name for name, case in sorted(CASES.items()) if case.app_answers and 413 not in case.statuses]
    payload = b"".join(bytes(CASES[name].build()) for name in names) + with_length(chat_bytes(max_tokens=4))
    statuses = []
    with connect(port) as sock, Pipeline(sock) as pipeline:
        sock.sendall(payload)
        for name in names:
            response = read_response(pipeline, CASES[name].method)
            check_answer(name, CASES[name], response)
            statuses.append(response.status)
        last = read_response(pipeline)
    assert last.status == 200, statuses
    assert last.json()["object"] == "chat.completion"
    assert len(statuses) == len(names)


# -- memory --------------------------------------------------------------------------------
def _big_request(text: str) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": text}], "max_tokens": 16}).encode()


def grow(mock: ServedMock, bodies: Iterator[bytes], repetitions: int, measure: Callable[[], int]) -> int:
    """Growth of ``measure()`` over ``repetitions`` requests, after 3 warm-ups (every answer must be 200)."""
    port = mock.server.port
    for _ in range(3):
        assert post(port, next(bodies)).status == 200
    gc.collect()
    before = measure()
    for index in range(repetitions):
        response = post(port, next(bodies))
        assert response.status == 200, f"request {index}: {response.status} {response.body[:200]!r}"
    gc.collect()
    return measure() - before


def big_strings_alive(min_length: int) -> int:
    """How many distinct ``str`` objects of at least ``min_length`` characters gc-tracked containers reference.

    (Dicts holding only atoms are untracked, so journalled bodies may not count: the bound only gets safer.)
    """
    gc.collect()
    seen: set[int] = set()
    for container in gc.get_objects():
        for value in gc.get_referents(container):
            if type(value) is str and len(value) >= min_length:
                seen.add(id(value))
    return len(seen)


@pytest.mark.slow
def test_repeating_a_900_kb_request_does_not_grow_memory_without_bound(serve: ServeFactory) -> None:
    mock = serve(credits=10**9)
    body = _big_request("word " * 180_000)  # 900 KB
    growth = grow(mock, itertools.repeat(body), 50, rss_bytes)
    # The journal keeps up to 1000 bodies: 50 of them are ~45 MB. Past 100 MB something leaks.
    assert growth < 100 * 2**20, f"RSS grew by {growth / 2**20:.0f} MiB over 50 requests of 900 KB"


@pytest.mark.slow
def test_distinct_900_kb_prompts_are_not_retained_beyond_the_journal(serve: ServeFactory) -> None:
    """With a 5-entry journal, 30 different 900 KB prompts must not all stay in memory.

    Counted as live 900 KB strings rather than RSS, which depends on what earlier tests freed.
    """
    mock = serve(credits=10**9, journal_size=5)
    text = "word " * 180_000
    bodies = (_big_request(f"{text}v{index}") for index in itertools.count())
    before = big_strings_alive(len(text))
    growth = grow(mock, bodies, 30, rss_bytes)
    alive = big_strings_alive(len(text)) - before
    # The journal holds 5 bodies (and so 5 prompts); caches keyed by whole prompts would hold all of them.
    assert alive <= 5 + 2, (
        f"{alive} distinct 900 KB prompts still in memory after 30 requests with a 5-entry journal: "
        "something keeps every prompt alive (an lru_cache keyed by the prompt text?)"
    )
    assert growth < 100 * 2**20
