"""The mock's one token-count approximation, documented so tests can predict it.

A *token* is a run of non-space characters together with the whitespace before it
(``re.findall(r"\\s*\\S+", text)``): ``"Hello, world!"`` is two tokens, ``"Hello,"`` and
``" world!"``. Streams send one token per content chunk, so pacing is exact.

``prompt_tokens`` = for each message, the tokens of its text plus 4 (role and framing),
plus the top-level ``system`` the same way, plus 2 for the reply's priming.
``completion_tokens`` = the tokens of the reply text (or of a tool call's name and arguments).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

__all__ = ["MESSAGE_OVERHEAD", "count_tokens", "message_text", "prompt_tokens", "split_tokens"]

TOKEN_RE = re.compile(r"\s*\S+")
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 2


def split_tokens(text: str) -> list[str]:
    """Split ``text`` into tokens; ``"".join(split_tokens(t)) == t.rstrip()`` (trailing space is dropped)."""
    return TOKEN_RE.findall(text)


CACHED_TEXT_CHARS = 4096
"""Texts up to this length have their count cached (replies and system prompts repeat);
longer ones are counted each time, so the cache never holds large prompts."""


def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    if len(text) <= CACHED_TEXT_CHARS:
        return _count_cached(text)
    return len(TOKEN_RE.findall(text))


@lru_cache(maxsize=4096)
def _count_cached(text: str) -> int:
    return len(TOKEN_RE.findall(text))


def message_text(content: Any) -> str:
    """The text of a message ``content``: a string, null, or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return ""


def prompt_tokens(messages: Iterable[Mapping[str, Any]], system: str | None = None) -> int:
    """``prompt_tokens`` of a request, as documented in this module."""
    total = REPLY_PRIMING
    if system:
        total += count_tokens(system) + MESSAGE_OVERHEAD
    for message in messages:
        total += count_tokens(message_text(message.get("content"))) + MESSAGE_OVERHEAD
        for call in message.get("tool_calls") or ():
            function = call.get("function", {}) if isinstance(call, Mapping) else {}
            total += count_tokens(f"{function.get('name', '')} {function.get('arguments', '')}")
    return total
