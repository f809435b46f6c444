"""The fixtures check at teardown that every queued reply and fault was used, and explain when not."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Runner = Callable[..., pytest.RunResult]

CONFTEST = """
import pytest


@pytest.fixture(params=["ainative_mock", "ainative_server"])
def mock(request):
    return request.getfixturevalue(request.param)
"""

UNUSED = """
import httpx
import pytest


@pytest.mark.ainative_mock(queued_replies=["first", "second"], queued_faults=[{"fault": "disconnect"}])
def test_leaves_a_reply_and_a_stream_fault(mock):
    response = httpx.post(
        mock.base_url + "/v1/public/chat/completions",
        headers=mock.headers,
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]},
        timeout=20,
    )
    assert response.json()["choices"][0]["message"]["content"] == "first"


def test_queued_in_the_test_body_and_never_sent(mock):
    mock.fail_next(503, times=2)


@pytest.mark.ainative_mock(queued_replies=["never sent"], check_unused=False)
def test_opted_out_by_marker(mock):
    mock.fail_next(429)


def test_next_test_starts_clean(mock):
    assert mock.pending() == {"replies": [], "faults": []}
    assert mock.requests == []
"""

WRONG_ROUTE = """
import httpx


def test_typo_in_the_route(mock):
    mock.reply("never sent")
    response = httpx.post(
        mock.base_url + "/v1/public/chat/completion",
        headers=mock.headers,
        json={"messages": [{"role": "user", "content": "Hi"}]},
        timeout=20,
    )
    assert response.status_code == 404
"""


def test_unused_items_fail_at_teardown_with_what_was_queued_and_what_came(inner: pytest.Pytester, run: Runner) -> None:
    inner.makeconftest(CONFTEST)
    inner.makepyfile(test_unused=UNUSED)
    result = run("-v")
    result.assert_outcomes(passed=8, errors=4)
    for fixture in ("ainative_mock", "ainative_server"):
        result.stdout.fnmatch_lines(
            [
                f"*ERROR at teardown of test_leaves_a_reply_and_a_stream_fault?{fixture}?*",
                "E *UnusedMockError: the AINative mock had queued items that no request used:",
                "E *  reply: 'second'",
                "E *  fault: {'fault': 'disconnect', 'remaining': 1, 'model': None, 'route': None}",
                "E *requests received (1):",
                "E *  POST /v1/public/chat/completions -> 200 (model=gpt-4o, stream=False)",
                "E *(opt out with @pytest.mark.ainative_mock(check_unused=False))",
            ]
        )
        result.stdout.fnmatch_lines(
            [
                f"*ERROR at teardown of test_queued_in_the_test_body_and_never_sent?{fixture}?*",
                "E *UnusedMockError: the AINative mock had queued items that no request used:",
                "E *  fault: {'fault': 'http_error', 'status': 503, 'retry_after': 1, 'remaining': 2, *}",
                "E *requests received: none",
            ]
        )
    result.stdout.no_fnmatch_line("*reply: 'never sent'*")
    result.stdout.fnmatch_lines(
        [
            "*test_leaves_a_reply_and_a_stream_fault?ainative_mock? PASSED*",
            "*test_leaves_a_reply_and_a_stream_fault?ainative_mock? ERROR*",
            "*test_opted_out_by_marker?ainative_mock? PASSED*",
            "*test_opted_out_by_marker?ainative_server? PASSED*",
            "*test_next_test_starts_clean?ainative_mock? PASSED*",
            "*test_next_test_starts_clean?ainative_server? PASSED*",
        ]
    )


def test_teardown_message_lists_a_request_to_a_mistyped_route(inner: pytest.Pytester, run: Runner) -> None:
    # The message is for exactly this mistake; it fails while only chat requests are journalled
    # (the 404 is not listed and the message claims "requests received: none").
    inner.makeconftest(CONFTEST)
    inner.makepyfile(test_wrong_route=WRONG_ROUTE)
    result = run()
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(["E *  reply: 'never sent'", "E *requests received (1):"])
    result.stdout.fnmatch_lines(["E *  POST /v1/public/chat/completion -> 404 *"])
