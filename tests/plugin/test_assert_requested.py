"""``assert_requested`` and ``get_request``: what they match, what they return, and the near misses they list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver import InProcessMock

MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def mock() -> Iterator[InProcessMock]:
    """A mock that received three requests: gpt-4o 200, a streamed claude 200, and a 402 for another key."""
    with InProcessMock() as mock:
        client = mock.httpx_client(headers=mock.headers)
        client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES, "temperature": 0.5})
        client.post(
            "/api/v1/chat/completions",
            json={"model": "claude-3-5-haiku-20241022", "messages": MESSAGES, "stream": True},
        )
        mock.set_key("ak_poor_customer", credits=0)
        client.post("/v1/chat/completions", headers={"X-API-Key": "ak_poor_customer"}, json={"messages": MESSAGES})
        yield mock


def test_returns_the_matching_entries(mock: InProcessMock) -> None:
    entries = mock.assert_requested(path="/v1/chat/completions")
    assert [entry.seq for entry in entries] == [1, 3]


@pytest.mark.parametrize(
    ("filters", "seqs"),
    [
        ({"method": "post", "status": 200}, [1, 2]),
        ({"model": "gpt-4o"}, [1]),
        ({"stream": True}, [2]),
        ({"key": "ak_poor_customer"}, [3]),
        ({"fault": None}, [1, 2, 3]),
        ({"body": {"temperature": 0.5}}, [1]),
        ({"body": {"stream": True}, "path": "/api/v1/chat/completions"}, [2]),
    ],
)
def test_each_filter(mock: InProcessMock, filters: dict[str, object], seqs: list[int]) -> None:
    assert [entry.seq for entry in mock.assert_requested(**filters)] == seqs


def test_count_must_be_exact(mock: InProcessMock) -> None:
    assert len(mock.assert_requested(2, status=200)) == 2
    with pytest.raises(AssertionError, match="expected exactly 1 request"):
        mock.assert_requested(1, status=200)


def test_failure_lists_the_closest_requests_and_names_what_differs(mock: InProcessMock) -> None:
    with pytest.raises(AssertionError) as failure:
        mock.assert_requested(path="/v1/chat/completions", model="gpt-4o", status=402)
    lines = str(failure.value).splitlines()
    sonnet, haiku = "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022"
    assert lines[0] == (
        "expected at least one request(s) matching path='/v1/chat/completions', model='gpt-4o', status=402; 0 matched"
    )
    assert lines[1] == "closest of the 3 request(s) received:"
    # one field differs in each of the two closest, two in the last
    assert lines[2] == (
        f"  #3 POST /v1/chat/completions -> 402 (model={sonnet}, stream=False): "
        f"model: expected 'gpt-4o', got '{sonnet}'"
    )
    assert (
        lines[3] == "  #1 POST /v1/chat/completions -> 200 (model=gpt-4o, stream=False): status: expected 402, got 200"
    )
    assert lines[4] == (
        f"  #2 POST /api/v1/chat/completions -> 200 (model={haiku}, stream=True): "
        "path: expected '/v1/chat/completions', got '/api/v1/chat/completions'; "
        f"model: expected 'gpt-4o', got '{haiku}'; status: expected 402, got 200"
    )


def test_body_field_differences_are_named(mock: InProcessMock) -> None:
    with pytest.raises(AssertionError) as failure:
        mock.assert_requested(model="gpt-4o", body={"temperature": 0.7})
    assert (
        "  #1 POST /v1/chat/completions -> 200 (model=gpt-4o, stream=False): body['temperature']: expected 0.7, got 0.5"
        in str(failure.value)
    )
    with pytest.raises(AssertionError, match=r"body\['top_p'\]: expected 1, got nothing"):
        mock.assert_requested(model="gpt-4o", body={"top_p": 1})


def test_the_key_is_compared_but_shown_masked(mock: InProcessMock) -> None:
    with pytest.raises(AssertionError) as failure:
        mock.assert_requested(key="ak_someone_else_entirely", status=402)
    message = str(failure.value)
    assert "ak_someone_else_entirely" not in message and "ak_poor_customer" not in message
    assert "key: expected 'ak_…rely', got 'ak_…omer'" in message


def test_nothing_received_says_so() -> None:
    with InProcessMock() as mock, pytest.raises(AssertionError, match="the mock received no request"):
        mock.assert_requested(path="/v1/chat/completions")


def test_an_unknown_filter_is_named() -> None:
    with InProcessMock() as mock, pytest.raises(TypeError, match=r"unknown request filter\(s\) \['modle'\]"):
        mock.assert_requested(modle="gpt-4o")


def test_get_request_returns_the_one_match(mock: InProcessMock) -> None:
    assert mock.get_request(stream=True).model == "claude-3-5-haiku-20241022"


def test_get_request_fails_when_several_match_and_lists_them(mock: InProcessMock) -> None:
    with pytest.raises(AssertionError) as failure:
        mock.get_request(status=200)
    message = str(failure.value)
    assert message.startswith("expected exactly one request(s) matching status=200; 2 matched")
    assert "  matched: #1 POST /v1/chat/completions -> 200" in message
    assert "  matched: #2 POST /api/v1/chat/completions -> 200" in message


def test_get_request_fails_when_none_match(mock: InProcessMock) -> None:
    with pytest.raises(AssertionError, match="0 matched"):
        mock.get_request(status=500)
