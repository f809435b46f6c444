"""Tell the user, in words, that their credits ran out, whatever error body the API sends with the 402."""

from __future__ import annotations

import httpx
import pytest

# --- application code ----------------------------------------------------------------------------

API_URL = "https://api.ainative.studio"
OUT_OF_CREDITS = "You're out of credits. Top up your balance to keep chatting."
SLOW_DOWN = "You're sending messages too fast. Wait a moment and try again."
UNAVAILABLE = "The assistant is unavailable right now. Please try again later."


def send_message(text: str, *, api_key: str, base_url: str = API_URL) -> str:
    """What the chat window shows after the user sends ``text``: the reply, or a message for a person."""
    try:
        response = httpx.post(
            f"{base_url}/v1/public/chat/completions",
            headers={"X-API-Key": api_key},
            json={"messages": [{"role": "user", "content": text}]},
            timeout=30,
        )
    except httpx.TransportError:
        return UNAVAILABLE
    if response.status_code == 402:
        return OUT_OF_CREDITS
    if response.status_code == 429:
        return SLOW_DOWN
    if response.status_code >= 500:
        return UNAVAILABLE
    response.raise_for_status()
    reply: str = response.json()["choices"][0]["message"]["content"]
    return reply


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.ainative_mock(credits=0)
def test_no_credits_shows_the_out_of_credits_message(ainative_mock):
    assert send_message("Hi", api_key=ainative_mock.api_key) == OUT_OF_CREDITS
    assert ainative_mock.last_request.status == 402


@pytest.mark.parametrize(
    "style",
    [
        pytest.param(style, marks=pytest.mark.ainative_mock(credits=0, error_style=style))
        for style in ("detail", "openai", "compat")
    ],
)
def test_the_message_does_not_depend_on_the_error_body(ainative_mock, style):
    assert send_message("Hi", api_key=ainative_mock.api_key) == OUT_OF_CREDITS


def test_running_out_mid_conversation(ainative_mock):
    ainative_mock.reply("Hi! How can I help?")
    assert send_message("Hi", api_key=ainative_mock.api_key) == "Hi! How can I help?"

    ainative_mock.set_credits(0)

    assert send_message("Tell me more", api_key=ainative_mock.api_key) == OUT_OF_CREDITS
    assert ainative_mock.balance()["remaining_credits"] == 0


def test_other_failures_get_their_own_message(ainative_mock):
    ainative_mock.fail_next(429)
    ainative_mock.fail_next(503)

    assert send_message("Hi", api_key=ainative_mock.api_key) == SLOW_DOWN
    assert send_message("Hi", api_key=ainative_mock.api_key) == UNAVAILABLE
