"""Keep what arrived when a streamed reply is cut off, tell the caller, and succeed on the next try.

Runs against ``ainative_server``: a dropped connection needs a real socket. The application code
finds the API through ``AINATIVE_BASE_URL`` and ``AINATIVE_API_KEY``, which the fixture sets.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import httpx

# --- application code ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamResult:
    """The text received, and what went wrong (None when the reply arrived whole)."""

    text: str
    error: str | None = None

    @property
    def complete(self) -> bool:
        return self.error is None


def stream_chat(prompt: str) -> StreamResult:
    """Stream the reply to ``prompt``; on a dropped connection return the partial text and an error."""
    parts: list[str] = []
    try:
        with httpx.stream(
            "POST",
            os.environ["AINATIVE_BASE_URL"] + "/chat/completions",
            headers={"X-API-Key": os.environ["AINATIVE_API_KEY"]},
            json={"messages": [{"role": "user", "content": prompt}], "stream": True},
            timeout=30,
        ) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line.removeprefix("data: ")
                if data == "[DONE]":
                    return StreamResult("".join(parts))
                for choice in json.loads(data)["choices"]:
                    parts.append(choice["delta"].get("content") or "")
    except httpx.TransportError as exc:
        return StreamResult("".join(parts), error=f"connection lost: {exc}")
    return StreamResult("".join(parts), error="stream ended without [DONE]")


# --- tests ---------------------------------------------------------------------------------------

REPLY = "Streams can break halfway, so keep what arrived and try again."


def test_disconnect_keeps_the_partial_text_then_a_retry_succeeds(ainative_server):
    ainative_server.reply(REPLY)  # for the attempt that is cut off
    ainative_server.reply(REPLY)  # for the retry
    ainative_server.queue_fault("disconnect", after_chunks=3)  # role chunk + 2 content chunks, then hang up

    first = stream_chat("Tell me about streams")

    assert not first.complete
    assert first.error is not None
    assert first.error.startswith("connection lost")
    assert first.text
    assert REPLY.startswith(first.text)
    assert first.text != REPLY
    assert ainative_server.last_request.chunks_sent == 3

    second = stream_chat("Tell me about streams")

    assert second == StreamResult(REPLY)


def test_an_uncut_stream_is_complete(ainative_server):
    ainative_server.reply(REPLY)

    assert stream_chat("Hi") == StreamResult(REPLY)
