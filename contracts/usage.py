"""The usage-sum rule: ``total_tokens`` is ``prompt_tokens + completion_tokens``.

One rule for everyone: the conformance checks judge servers with :func:`usage_problem`, and the
mock builds every ``usage`` object with :func:`make_usage`. A token count is an integer that is not
a boolean (JSON ``true`` is not a count, though Python's ``bool`` is an ``int``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

__all__ = ["USAGE_FIELDS", "is_token_count", "make_usage", "usage_problem"]

USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")
"""The token counts of a ``usage`` object, in the order they are summed."""


def is_token_count(value: object) -> TypeGuard[int]:
    """Whether ``value`` is a token count: an ``int`` that is not a ``bool``.

    Example:
        >>> is_token_count(3), is_token_count(True), is_token_count(3.0)
        (True, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool)


def make_usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """A ``usage`` object whose total is the sum of its parts.

    Example:
        >>> make_usage(3, 4)
        {'prompt_tokens': 3, 'completion_tokens': 4, 'total_tokens': 7}
    """
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def usage_problem(usage: Any) -> str | None:
    """What is wrong with ``usage``'s arithmetic, or None when it adds up.

    Also None when ``usage`` is not an object with three token counts: that is a type problem,
    which the schema checks report.

    Example:
        >>> usage_problem({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}) is None
        True
        >>> usage_problem({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 8})
        'usage does not add up: prompt_tokens + completion_tokens = 7, total_tokens = 8'
        >>> usage_problem({"prompt_tokens": True, "completion_tokens": 0, "total_tokens": 2}) is None
        True
    """
    if not isinstance(usage, Mapping):
        return None
    prompt, completion, total = (usage.get(name) for name in USAGE_FIELDS)
    if not (is_token_count(prompt) and is_token_count(completion) and is_token_count(total)):
        return None
    if prompt + completion == total:
        return None
    return f"usage does not add up: prompt_tokens + completion_tokens = {prompt + completion}, total_tokens = {total}"
