"""The official openai SDK against a served mock: exceptions it raises on our errors, and its retries."""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
import pytest

import contracts
from mockserver.app import AINativeMock
from mockserver.server import ServerThread
from tests.support.chat import KEY
from tests.support.mocks import served_mock

pytestmark = pytest.mark.socket

MESSAGES = [{"role": "user", "content": "count to 5"}]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[AINativeMock, ServerThread]]:
    """A mock served for the module."""
    with served_mock() as served:
        yield served.mock, served.server


@pytest.fixture
def served(server: tuple[AINativeMock, ServerThread]) -> tuple[AINativeMock, ServerThread]:
    """The module's mock, reset."""
    server[0].state.reset()
    return server


def sdk(thread: ServerThread, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=thread.base_url + "/api/v1", **kwargs)  # type: ignore[arg-type]


def test_429_is_a_rate_limit_error_without_retries(served: tuple[AINativeMock, ServerThread]) -> None:
    mock, thread = served
    mock.state.fail_next(429, retry_after=3)
    with sdk(thread, max_retries=0) as client, pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    error = caught.value
    assert error.status_code == 429
    assert error.body == {"detail": "Rate limit exceeded"}
    contracts.validate("error", error.response.json())
    assert error.response.headers["retry-after"] == "3"
    assert error.request_id == mock.state.requests()[-1].request_id
    assert len(mock.state.requests()) == 1


def test_402_is_an_api_status_error(served: tuple[AINativeMock, ServerThread]) -> None:
    mock, thread = served
    mock.state.set_credits(0, KEY)
    with sdk(thread, max_retries=0) as client, pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    error = caught.value
    assert type(error) is openai.APIStatusError
    assert error.status_code == 402
    assert error.body == {"detail": "Insufficient credits"}
    contracts.validate("error", error.response.json())
    assert [e.status for e in mock.state.requests()] == [402]


def test_402_in_openai_error_style_exposes_code_and_type(served: tuple[AINativeMock, ServerThread]) -> None:
    mock, thread = served
    mock.state.update_config({"error_style": "openai"})
    with sdk(thread, max_retries=0) as client, pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers={"X-Mock-Fault": "402"})  # type: ignore[arg-type]
    error = caught.value
    assert error.status_code == 402
    assert error.code == "insufficient_credits"
    assert error.type == "insufficient_quota"
    assert error.message == "Error code: 402 - Insufficient credits"
    contracts.validate("error-openai", error.response.json())


def test_default_retries_recover_from_one_429(served: tuple[AINativeMock, ServerThread]) -> None:
    mock, thread = served
    mock.state.fail_next(429, retry_after=1)
    started = time.monotonic()
    with sdk(thread) as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert completion.choices[0].message.content == "1, 2, 3, 4, 5"
    contracts.validate("chat-completion", completion.model_dump(exclude_unset=True))
    entries = mock.state.requests()
    assert [e.status for e in entries] == [429, 200]
    assert entries[0].fault == {"fault": "http_error", "status": 429, "retry_after": 1, "source": "queue"}
    assert elapsed >= 0.9, "the SDK honours Retry-After: 1"
    assert mock.state.pending()["faults"] == []


def test_default_retries_give_up_after_three_attempts(served: tuple[AINativeMock, ServerThread]) -> None:
    mock, thread = served
    mock.state.fail_next(503, times=5, retry_after=0)
    with sdk(thread) as client, pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.status_code == 503
    assert [e.status for e in mock.state.requests()] == [503, 503, 503]
    assert mock.state.pending()["faults"][0]["remaining"] == 2


def test_sdk_stream_reads_a_whole_stream(served: tuple[AINativeMock, ServerThread]) -> None:
    mock, thread = served
    with sdk(thread, max_retries=0) as client:
        stream = client.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "1, 2, 3, 4, 5"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == mock.state.requests()[-1].usage["total_tokens"]
