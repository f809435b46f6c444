"""Deterministic replies: scripted, rule-matched, or generated from the last user message."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mockserver.config import ReplyRule
from mockserver.tokens import count_tokens, message_text, split_tokens

__all__ = ["Reply", "ToolCall", "apply_stop", "generate_reply", "last_user_message", "match_rule", "truncate"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the assistant asks the client to make."""

    id: str
    name: str
    arguments: str  # JSON text, as OpenAI sends it


@dataclass(frozen=True, slots=True)
class Reply:
    """What the assistant answers: text, or tool calls (then ``text`` is None)."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def completion_tokens(self) -> int:
        """``usage.completion_tokens`` of this reply (see :mod:`mockserver.tokens`)."""
        if self.tool_calls:
            return sum(count_tokens(f"{c.name} {c.arguments}") for c in self.tool_calls)
        return count_tokens(self.text or "")


def last_user_message(messages: Sequence[Mapping[str, Any]]) -> str:
    """Text of the last ``user`` message ("" if there is none)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def _digest(seed: int, text: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}\x00{text}".encode(), digest_size=8).digest(), "big")


def tool_call_reply(seed: int, name: str, arguments: Any) -> Reply:
    """A reply calling tool ``name`` with ``arguments`` (a dict, or JSON text)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments or {}, separators=(",", ":"))
    call_id = f"call_{_digest(seed, name + args):016x}"[:29]
    return Reply(tool_calls=(ToolCall(call_id, name, args),))


def match_rule(rules: Sequence[ReplyRule], seed: int, prompt: str) -> Reply | None:
    """The reply of the first rule whose ``match`` is found in ``prompt``, if any."""
    for rule in rules:
        hit = re.search(rule.match, prompt) if rule.regex else rule.match in prompt
        if not hit:
            continue
        if rule.tool_call is not None:
            return tool_call_reply(seed, str(rule.tool_call["name"]), rule.tool_call.get("arguments", {}))
        text = rule.text or ""
        return _text_reply(text) if len(text) <= 4096 else Reply(text=text)
    return None


@lru_cache(maxsize=256)
def _text_reply(text: str) -> Reply:
    """The reply of a text rule, made once per (short) text: a Reply is immutable."""
    return Reply(text=text)


_COUNT_RE = re.compile(r"\bcount (?:from 1 )?to (\d{1,2})\b", re.IGNORECASE)
_OPENINGS = (
    "Here is a mock answer about {topic}.",
    "Happy to help with {topic}.",
    "Good question about {topic}.",
    "Let me explain {topic}.",
)
_BODIES = (
    "This reply comes from the AINative mock server, so it is short and predictable.",
    "The AINative mock server wrote this reply; the same request always gets the same words.",
    "No model ran here: the AINative mock server derives each reply from your last message.",
)


def _topic(prompt: str) -> str:
    words = re.findall(r"[\w'-]+", prompt)
    if not words:
        return "your message"
    topic = " ".join(words[:8])
    return f'"{topic}"' if len(words) <= 8 else f'"{topic}..."'


def generate_reply(seed: int, prompt: str) -> Reply:
    """The default reply to ``prompt``: short, readable, and the same for the same seed and prompt.

    "Count to N" (N up to 99) is answered with the numbers, as the seed document's example expects.
    """
    if len(prompt) <= 4096:  # cache short prompts only: the cache must never hold large ones
        return _generate_cached(seed, prompt)
    return _generate(seed, prompt)


@lru_cache(maxsize=1024)
def _generate_cached(seed: int, prompt: str) -> Reply:
    return _generate(seed, prompt)


def _generate(seed: int, prompt: str) -> Reply:
    count = _COUNT_RE.search(prompt)
    if count:
        n = max(1, int(count.group(1)))
        return Reply(text=", ".join(str(i) for i in range(1, n + 1)))
    digest = _digest(seed, prompt)
    opening = _OPENINGS[digest % len(_OPENINGS)].format(topic=_topic(prompt))
    body = _BODIES[(digest >> 8) % len(_BODIES)]
    return Reply(text=f"{opening} {body}")


def truncate(reply: Reply, max_tokens: int) -> tuple[Reply, bool]:
    """Cut a text reply to ``max_tokens`` tokens; returns the reply and whether it was cut."""
    if reply.text is None or count_tokens(reply.text) <= max_tokens:
        return reply, False
    return Reply(text="".join(split_tokens(reply.text)[:max_tokens])), True


def apply_stop(reply: Reply, stop: Any) -> tuple[Reply, bool]:
    """Cut a text reply where the first of the ``stop`` sequences occurs (the sequence is not sent).

    ``stop`` is the request's ``stop``: None, a string, or a list of strings. Returns the reply and
    whether it was cut.

    Example:
        >>> apply_stop(Reply(text="one, two, three"), [", three", "two"])
        (Reply(text='one, ', tool_calls=()), True)
    """
    if not stop or reply.text is None:  # no stop (None, "" or []): nothing to cut, the common case
        return reply, False
    sequences = [stop] if isinstance(stop, str) else [s for s in stop if isinstance(s, str)]
    cuts = [reply.text.find(s) for s in sequences if s]
    cuts = [at for at in cuts if at >= 0]
    if not cuts:
        return reply, False
    return Reply(text=reply.text[: min(cuts)]), True
