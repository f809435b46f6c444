"""Client matrix: ``ainative-python`` (``ainative.AINativeClient``), unmodified, against a served mock.

It has no chat helper and no streaming: chat and balance go through its generic ``request``.
A constructor ``base_url`` is joined with ``urljoin`` as given, so it must end with ``/``:
without the slash the last path segment is dropped (a bug in the client: no server can
answer ``/api/public/...`` for ``/api/v1/public/...``). The README says so.
"""

from __future__ import annotations

import pytest
from ainative import AINativeClient
from ainative.exceptions import APIError

from mockserver.testing import ServedMock
from tests.clients.clients_support import KEY, release_fixture

pytestmark = pytest.mark.socket
release = release_fixture("ainative-python", "3.1.1")


def test_chat_and_balance_through_request(served: ServedMock) -> None:
    with AINativeClient(api_key=KEY, base_url=served.base_url + "/api/v1/") as client:
        completion = client.request(
            "POST", "public/chat/completions", data={"messages": [{"role": "user", "content": "Count to 3"}]}
        )
        balance = client.request("GET", "public/credits/balance")
    assert completion["choices"][0]["message"]["content"] == "1, 2, 3"
    assert balance["used_credits"] == completion["usage"]["total_tokens"]
    assert balance["remaining_credits"] == balance["total_credits"] - balance["used_credits"]


def test_client_bug_base_url_without_trailing_slash_loses_a_segment(served: ServedMock) -> None:
    with AINativeClient(api_key=KEY, base_url=served.base_url + "/api/v1") as client, pytest.raises(APIError) as caught:
        client.request("GET", "public/credits/balance")
    assert caught.value.status_code == 404
    assert served.last_request.path == "/api/public/credits/balance"  # 'v1' was dropped by urljoin
