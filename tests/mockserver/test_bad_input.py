"""Hostile and malformed requests: each gets the right 4xx with a body naming the problem, then the mock still works."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest

import contracts
from mockserver.testing import ServedMock
from tests.support.chat import BODY, HEADERS, KEY, USER
from tests.support.checks import ERROR_SCHEMAS, check_response, error_message
from tests.support.mocks import MockFactory

LIMIT = 16 * 1024
"""max_body_bytes of the mocks in this module."""
JSON_HEADERS = {**HEADERS, "Content-Type": "application/json"}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


EXPIRED = jwt.encode({"sub": "u", "exp": int(time.time()) - 10}, "ainative-mock-jwt-secret-for-tests-only")
WRONG_SECRET = jwt.encode({"sub": "u"}, "some-other-secret-that-is-long-enough-for-hs256")
ALG_NONE = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'admin'})}."


def _chunked(data: bytes, size: int = 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@dataclass(frozen=True)
class Bad:
    """One malformed request and what the mock must answer."""

    content: bytes | None = None
    status: int = 422
    loc: tuple[str | int, ...] | None = None  # first 422 detail item's loc
    says: str = ""  # a word the error message must contain (case-insensitive)
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))
    chunked: bool = False


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


BIG = _json({**BODY, "padding": "x" * (LIMIT * 2)})
DEEP = b'{"messages":' + b"[" * 5000 + b"]" * 5000 + b"}"

BAD: dict[str, Bad] = {
    "bad-json": Bad(b'{"messages": [', loc=("body",), says="JSON"),
    "empty-body": Bad(b"", loc=("body",), says="empty"),
    "json-array": Bad(b"[]", loc=("body",), says="object"),
    "json-string": Bad(b'"hello"', loc=("body",), says="object"),
    "missing-messages": Bad(_json({"model": "gpt-4o"}), loc=("body", "messages"), says="messages"),
    "empty-messages": Bad(_json({"messages": []}), loc=("body", "messages"), says="non-empty"),
    "messages-not-list": Bad(_json({"messages": "hi"}), loc=("body", "messages"), says="array"),
    "message-not-object": Bad(_json({"messages": ["hi"]}), loc=("body", "messages", 0), says="object"),
    "missing-content": Bad(_json({"messages": [{"role": "user"}]}), loc=("body", "messages", 0, "content")),
    "role-wizard": Bad(
        _json({"messages": [{"role": "wizard", "content": "x"}]}), loc=("body", "messages", 0, "role"), says="wizard"
    ),
    "temperature-5": Bad(_json({**BODY, "temperature": 5}), loc=("body", "temperature"), says="maximum"),
    "temperature-string": Bad(_json({**BODY, "temperature": "hot"}), loc=("body", "temperature"), says="number"),
    "max-tokens-0": Bad(_json({**BODY, "max_tokens": 0}), loc=("body", "max_tokens"), says="minimum"),
    "max-tokens-float": Bad(_json({**BODY, "max_tokens": 1.5}), loc=("body", "max_tokens"), says="integer"),
    "model-number": Bad(_json({**BODY, "model": 42}), loc=("body", "model"), says="string"),
    "model-empty": Bad(_json({**BODY, "model": ""}), loc=("body", "model")),
    "stream-string": Bad(_json({**BODY, "stream": "yes"}), loc=("body", "stream"), says="boolean"),
    "tool-choice-bad": Bad(_json({**BODY, "tool_choice": "sometimes"}), loc=("body", "tool_choice")),
    "nan": Bad(b'{"messages":[{"role":"user","content":"x"}],"temperature":NaN}', loc=("body",), says="NaN"),
    "infinity": Bad(b'{"messages":[{"role":"user","content":"x"}],"top_p":Infinity}', loc=("body",), says="Infinity"),
    "invalid-utf8": Bad(b'{"messages":[{"role":"user","content":"\xff\xfe"}]}', loc=("body",), says="UTF-8"),
    "deep-nesting": Bad(DEEP, loc=("body",), says="nested"),
    "too-large": Bad(BIG, 413, says="limit"),
    "too-large-chunked": Bad(BIG, 413, says="limit", chunked=True),
    "text-plain": Bad(_json(BODY), 415, says="application/json", headers={**HEADERS, "Content-Type": "text/plain"}),
    "form": Bad(b"messages=hi", 415, headers={**HEADERS, "Content-Type": "application/x-www-form-urlencoded"}),
    "unknown-model": Bad(_json({**BODY, "model": "gpt-99"}), 404, says="gpt-99"),
    "no-credentials": Bad(_json(BODY), 401, says="missing", headers={"Content-Type": "application/json"}),
    "basic-auth": Bad(_json(BODY), 401, says="bearer", headers=_bearer("x") | {"Authorization": "Basic dTpw"}),
    "anthropic-key": Bad(_json(BODY), 401, says="invalid", headers={**JSON_HEADERS, "X-API-Key": "sk-ant-api03-abc"}),
    "jwt-expired": Bad(_json(BODY), 401, says="expired", headers=_bearer(EXPIRED)),
    "jwt-wrong-secret": Bad(_json(BODY), 401, says="invalid", headers=_bearer(WRONG_SECRET)),
    "jwt-alg-none": Bad(_json(BODY), 401, says="invalid", headers=_bearer(ALG_NONE)),
    "jwt-garbage": Bad(_json(BODY), 401, says="invalid", headers=_bearer("not.a.jwt")),
}


def _send(client: Any, bad: Bad) -> Any:
    content: Any = _chunked(bad.content or b"") if bad.chunked else bad.content
    return client.post("/v1/public/chat/completions", content=content, headers=bad.headers)


def _check_bad(response: Any, bad: Bad, style: str = "detail") -> None:
    assert response.status_code == bad.status, response.text
    body = check_response(response, style)
    assert bad.says.lower() in error_message(body).lower(), body
    if bad.loc is not None and style != "openai":
        assert isinstance(body["detail"], list)
        assert tuple(body["detail"][0]["loc"]) == bad.loc, body
    assert len(response.content) < 2000, "the error echoes too much of the request"


def _still_serves(client: Any) -> None:
    response = client.post("/v1/public/chat/completions", json=BODY, headers=HEADERS)
    assert response.status_code == 200
    check_response(response)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_request_gets_the_right_4xx_and_then_the_mock_still_works(make_mock: MockFactory, case: str) -> None:
    m = make_mock(max_body_bytes=LIMIT)
    _check_bad(_send(m.client, BAD[case]), BAD[case])
    _still_serves(m.client)


def test_bad_requests_are_not_charged(make_mock: MockFactory) -> None:
    m = make_mock(max_body_bytes=LIMIT)
    for bad in BAD.values():
        _send(m.client, bad)
    assert m.state.ledger.balance(KEY)["used_credits"] == 0


@pytest.mark.parametrize("style", list(ERROR_SCHEMAS))
def test_validation_error_names_the_field_in_every_style(make_mock: MockFactory, style: str) -> None:
    m = make_mock(error_style=style)
    response = m.post({"messages": [{"role": "wizard", "content": "x"}], "temperature": 7})
    assert response.status_code == 422
    body = check_response(response, style)
    if style != "detail":
        assert body["error"]["param"] == "messages.0.role"
        assert "and 1 more" in body["error"]["message"]
    if style != "openai":
        assert [tuple(item["loc"]) for item in body["detail"]] == [
            ("body", "messages", 0, "role"),
            ("body", "temperature"),
        ]


def test_huge_string_is_not_echoed_back(make_mock: MockFactory) -> None:
    m = make_mock()
    response = m.post({"messages": "x" * 500_000})
    assert response.status_code == 422
    check_response(response)
    assert len(response.content) < 1000


def _nested(depth: int, leaf: bytes = b"1") -> bytes:
    return b"[" * depth + leaf + b"]" * depth


def test_nesting_just_below_the_parser_limit_is_not_a_server_error(make_mock: MockFactory) -> None:
    """JSON the parser still accepts must get a 4xx, not a 500 from formatting the validation error."""
    m = make_mock()
    logging.getLogger("mockserver").disabled = True  # the 500s we look for log a traceback
    try:
        low, high = 10, 5000  # find the deepest body the parser accepts (an unknown field is not validated)
        while high - low > 1:
            middle = (low + high) // 2
            accepted = (
                m.post(
                    None,
                    content=b'{"messages":[{"role":"user","content":"x"}],"pad":%s}' % _nested(middle),
                    headers=JSON_HEADERS,
                ).status_code
                == 200
            )
            low, high = (middle, high) if accepted else (low, middle)
        statuses = {}
        for depth in range(max(low - 40, 1), low + 5):
            content = b'{"messages":[{"role":"user","content":%s}]}' % _nested(depth)
            statuses[depth] = m.post(None, content=content, headers=JSON_HEADERS).status_code
    finally:
        logging.getLogger("mockserver").disabled = False
    server_errors = sorted(d for d, s in statuses.items() if s >= 500)
    assert not server_errors, f"nesting depths answered with 500: {server_errors} (parser limit ~{low})"
    assert set(statuses.values()) == {422}
    _still_serves(m.client)


# -- the same on a real socket ---------------------------------------------------------------
SOCKET_CASES = [
    "bad-json",
    "empty-body",
    "too-large",
    "too-large-chunked",
    "text-plain",
    "invalid-utf8",
    "deep-nesting",
    "jwt-alg-none",
    "nan",
    "unknown-model",
]


@pytest.mark.socket
def test_bad_requests_on_a_real_socket_keep_the_connection_usable(serve_mock: Any) -> None:
    served: ServedMock = serve_mock(max_body_bytes=LIMIT)
    with httpx.Client(base_url=served.base_url, timeout=10) as client:
        for case in SOCKET_CASES:
            _check_bad(_send(client, BAD[case]), BAD[case])
            _still_serves(client)  # same client: the keep-alive connection survives the error
    with httpx.Client(base_url=served.base_url, timeout=10) as fresh:
        _still_serves(fresh)


@pytest.mark.socket
def test_body_over_the_default_limit_is_413_on_a_socket(served: ServedMock) -> None:
    big = _json({**BODY, "padding": "x" * (1024 * 1024 + 10)})
    with httpx.Client(base_url=served.base_url, timeout=10) as client:
        response = client.post("/v1/chat/completions", content=big, headers=JSON_HEADERS)
        assert response.status_code == 413
        assert "1048576" in error_message(check_response(response))
        _still_serves(client)


def test_error_bodies_are_schema_checked_not_just_parsed() -> None:
    assert not contracts.validator_for("error-detail").is_valid({"detail": ""})
    assert not contracts.validator_for("error-openai").is_valid({"error": {"message": "x"}})
    assert contracts.validator_for("chat-request").is_valid({"messages": USER, "unknown": {"a": 1}})
