"""Inner project of tests/plugin/test_marker.py: every test runs on both fixtures."""

import httpx
import pytest

CHAT = "/v1/public/chat/completions"


@pytest.fixture(params=["ainative_mock", "ainative_server"])
def mock(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def chat(mock):
    with httpx.Client(base_url=mock.base_url, headers=mock.headers, timeout=20) as client:

        def send(text="Hello there", **body):
            return client.post(CHAT, json={"messages": [{"role": "user", "content": text}], **body})

        yield send
