"""A queued stream fault on both fixtures (run as test_stream_fault.py)."""

import httpx
import pytest


@pytest.mark.ainative_mock(queued_faults=[{"fault": "disconnect", "after_chunks": 3}], queued_replies=["used"])
def test_queued_disconnect_waits_for_a_stream_then_cuts_it_like_a_network_error(mock, chat):
    assert chat().json()["choices"][0]["message"]["content"] == "used"  # a plain request leaves it queued
    assert mock.pending()["faults"][0]["fault"] == "disconnect"
    received = []
    # what the client sees must be a transport error, as from a real peer that hangs up
    with (
        pytest.raises(httpx.TransportError),
        httpx.stream(
            "POST",
            mock.base_url + "/v1/public/chat/completions",
            headers=mock.headers,
            json={"messages": [{"role": "user", "content": "Hello"}], "stream": True},
            timeout=20,
        ) as response,
    ):
        received.extend(response.iter_lines())
    assert [line for line in received if line.startswith("data: {")][:1]  # events before the cut arrived
    assert mock.pending()["faults"] == []
    assert mock.last_request.chunks_sent == 3
