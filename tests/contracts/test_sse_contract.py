"""The OpenAPI description of the chat response holds real servers to the wire format, via schemathesis.

Tiny Starlette apps answer POST /api/v1/chat/completions with a fixed body; schemathesis calls
them in-process and runs its response-schema check against the bundled document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PATH = "/api/v1/chat/completions"
HEAD = {"id": "chatcmpl-abc123", "object": "chat.completion.chunk", "created": 1764403200, "model": "gpt-4o"}
REQUEST = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Count to 3"}], "stream": True}


def frame(payload: dict[str, Any] | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n"


def chunk(delta: dict[str, Any], finish_reason: str | None = None, **head: Any) -> dict[str, Any]:
    return {**HEAD, **head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}


ROLE = frame(chunk({"role": "assistant", "content": ""}))
CONTENT = frame(chunk({"content": "1, 2"})) + frame(chunk({"content": ", 3"}))
FINISH = frame(chunk({}, "stop"))
USAGE = frame({**HEAD, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}})
DONE = "data: [DONE]\n\n"


def fixed_app(body: str, media_type: str) -> Starlette:
    async def endpoint(request: Request) -> Response:
        return Response(body, media_type=media_type)

    return Starlette(routes=[Route(PATH, endpoint, methods=["POST"])])


@pytest.fixture
def check_response(api_schema: schemathesis.BaseSchema) -> Callable[[str, str], None]:
    """Serve a fixed body, call it through schemathesis, and run the response-schema check."""

    def run(body: str, media_type: str = "text/event-stream") -> None:
        case = api_schema[PATH]["POST"].Case(body=REQUEST)
        response = case.call(app=fixed_app(body, media_type))
        assert response.status_code == 200
        case.validate_response(response, checks=[schemathesis.checks.response_schema_conformance])

    return run


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(ROLE + CONTENT + FINISH + DONE, id="role-content-finish-done"),
        pytest.param(ROLE + CONTENT + FINISH + USAGE + DONE, id="with-usage-chunk"),
        pytest.param(
            ROLE
            + frame(
                chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}]})
            )
            + frame(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}))
            + frame(chunk({}, "tool_calls"))
            + DONE,
            id="tool-call-deltas",
        ),
        pytest.param(
            ROLE + frame({"error": {"message": "Upstream failed", "type": "server_error", "code": None}}) + DONE,
            id="in-band-openai-error-frame",
        ),
    ],
)
def test_conforming_stream_passes(check_response: Callable[[str, str], None], body: str) -> None:
    check_response(body, "text/event-stream")


def test_chunk_without_id_fails_at_that_event(check_response: Callable[[str, str], None]) -> None:
    no_id = {key: value for key, value in chunk({"content": "1"}).items() if key != "id"}
    with pytest.raises(FailureGroup) as raised:
        check_response(ROLE + frame(no_id) + FINISH + DONE, "text/event-stream")
    (failure,) = raised.value.exceptions
    assert isinstance(failure, JsonSchemaError)
    assert failure.title == "SSE event violates schema"
    assert failure.message.startswith("Event #1:")
    assert list(failure.instance_path) == ["data"]
    assert json.loads(failure.instance) == no_id


def test_non_json_data_line_fails(check_response: Callable[[str, str], None]) -> None:
    with pytest.raises(FailureGroup) as raised:
        check_response(ROLE + "data: {not json\n\n" + DONE, "text/event-stream")
    (failure,) = raised.value.exceptions
    assert isinstance(failure, JsonSchemaError)
    assert failure.title == "SSE event violates schema"
    assert failure.message.startswith("Event #1:")
    assert failure.instance == "{not json"


def test_unknown_finish_reason_in_stream_fails(check_response: Callable[[str, str], None]) -> None:
    with pytest.raises(FailureGroup) as raised:
        check_response(ROLE + frame(chunk({}, "done")) + DONE, "text/event-stream")
    (failure,) = raised.value.exceptions
    assert isinstance(failure, JsonSchemaError)
    assert failure.message.startswith("Event #1:")
    assert json.loads(failure.instance)["choices"][0]["finish_reason"] == "done"


def test_conforming_json_completion_passes(check_response: Callable[[str, str], None]) -> None:
    body = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1764403200,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    check_response(json.dumps(body), "application/json")


def test_json_completion_with_null_finish_reason_fails(check_response: Callable[[str, str], None]) -> None:
    body = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1764403200,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": None}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    with pytest.raises(FailureGroup) as raised:
        check_response(json.dumps(body), "application/json")
    (failure,) = raised.value.exceptions
    assert isinstance(failure, JsonSchemaError)
    assert failure.title == "Response violates schema"
    assert list(failure.instance_path) == ["choices", 0, "finish_reason"]
    assert "None is not one of" in failure.message or "null is not one of" in failure.message
