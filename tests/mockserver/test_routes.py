"""Routing: aliases, 404/405, request ids, the X-Mock-Fault header, the magic test keys and models."""

from __future__ import annotations

import pytest

from mockserver.app import BALANCE_ROUTES, CHAT_ROUTES, MODEL_ROUTES
from mockserver.chat import MAGIC_KEYS, MAGIC_MODELS
from tests.support.chat import BODY, HEADERS
from tests.support.checks import check_response, error_message
from tests.support.mocks import Mock, MockFactory


def test_chat_aliases_answer_the_same_reply(mock: Mock) -> None:
    texts = {check_response(mock.post(BODY, path=path))["choices"][0]["message"]["content"] for path in CHAT_ROUTES}
    assert len(texts) == 1


@pytest.mark.parametrize("path", ["/v1/chat/completion", "/api/v2/chat/completions", "/v1/messages", "/v2"])
def test_unknown_route_is_404_naming_the_path(mock: Mock, path: str) -> None:
    response = mock.client.post(path, headers=HEADERS, json=BODY)
    assert response.status_code == 404
    assert path in error_message(check_response(response))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", CHAT_ROUTES[0]),
        ("PUT", CHAT_ROUTES[2]),
        ("DELETE", BALANCE_ROUTES[0]),
        ("POST", MODEL_ROUTES[0]),
        ("POST", "/health"),
        ("POST", "/"),  # the inspector page
    ],
)
def test_wrong_method_is_405_with_allow(mock: Mock, method: str, path: str) -> None:
    response = mock.client.request(method, path, headers=HEADERS)
    assert response.status_code == 405
    assert "allow" in response.headers
    assert method in error_message(check_response(response))


def test_request_ids_are_unique(mock: Mock) -> None:
    ids = {mock.post(BODY).headers["x-request-id"] for _ in range(5)}
    ids |= {mock.post({"messages": []}).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 10


@pytest.mark.parametrize("key", list(MAGIC_KEYS))
def test_magic_keys(mock: Mock, key: str) -> None:
    fault = MAGIC_KEYS[key]
    plain = mock.post(BODY, headers={"X-API-Key": key})
    if fault.status is not None:
        assert plain.status_code == fault.status
        check_response(plain)
    else:  # a stream-only fault leaves non-streaming requests alone
        assert plain.status_code == 200
        check_response(plain)


@pytest.mark.parametrize("model", list(MAGIC_MODELS))
@pytest.mark.parametrize("stream", [False, True])
def test_magic_models(mock: Mock, model: str, stream: bool) -> None:
    response = mock.post({**BODY, "model": model, "stream": stream})
    assert response.status_code == MAGIC_MODELS[model].status
    check_response(response)


@pytest.mark.parametrize("status", [400, 404, 409, 418, 500, 502, 503, 504])
def test_mock_fault_header_any_status(mock: Mock, status: int) -> None:
    response = mock.post(BODY, headers={**HEADERS, "X-Mock-Fault": f"http_error; status={status}"})
    assert response.status_code == status
    check_response(response)
    bare = mock.post(BODY, headers={**HEADERS, "X-Mock-Fault": str(status)})
    assert bare.status_code == status


def test_mock_fault_header_retry_after(mock: Mock) -> None:
    response = mock.post(BODY, headers={**HEADERS, "X-Mock-Fault": "http_error; status=429; retry_after=7"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


@pytest.mark.parametrize("header", ["nonsense", "http_error", "http_error; status=200", "latency; ms", "503; x=1"])
def test_bad_mock_fault_header_is_400(mock: Mock, header: str) -> None:
    response = mock.post(BODY, headers={**HEADERS, "X-Mock-Fault": header})
    assert response.status_code == 400
    assert "X-Mock-Fault" in error_message(check_response(response))


def test_unknown_model_status_is_configurable(make_mock: MockFactory) -> None:
    for status in (400, 403, 404, 503):
        m = make_mock(unknown_model_status=status)
        response = m.post({**BODY, "model": "gpt-99"})
        assert response.status_code == status
        assert "gpt-99" in error_message(check_response(response))


def test_unavailable_and_plan_gated_models(make_mock: MockFactory) -> None:
    m = make_mock(unavailable_models=("gpt-4o",))
    response = m.post({**BODY, "model": "gpt-4o"})
    assert response.status_code == 503
    assert "gpt-4o" in error_message(check_response(response))
    assert m.post(BODY).status_code == 200
    m.state.model_unavailable("gpt-4o", False)
    assert m.post({**BODY, "model": "gpt-4o"}).status_code == 200


def test_head_on_get_routes(mock: Mock) -> None:
    assert mock.client.head("/health").status_code == 200
    assert mock.client.head("/v1/models", headers=HEADERS).status_code == 200
