"""The one usage-sum rule, shared by the conformance checks and the mock."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.conformance import clauses
from contracts.usage import is_token_count, make_usage, usage_problem


@pytest.mark.parametrize(
    ("usage", "problem"),
    [
        ({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}, None),
        ({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 8}, "= 7, total_tokens = 8"),
        ({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 1}, "= 0, total_tokens = 1"),
        # Booleans are not token counts (even though bool is an int): a type problem for the schema checks.
        ({"prompt_tokens": True, "completion_tokens": 1, "total_tokens": 3}, None),
        ({"prompt_tokens": 1, "completion_tokens": False, "total_tokens": 1}, None),
        ({"prompt_tokens": 1.0, "completion_tokens": 1, "total_tokens": 5}, None),
        ({"prompt_tokens": 1, "completion_tokens": 1}, None),
        ([1, 2, 3], None),
    ],
)
def test_usage_problem(usage: Any, problem: str | None) -> None:
    found = usage_problem(usage)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and "does not add up" in found


def test_a_bool_is_not_a_token_count() -> None:
    assert [is_token_count(v) for v in (0, 7, True, False, 1.0, "1", None)] == [True, True] + [False] * 5


def test_made_usage_adds_up() -> None:
    assert usage_problem(make_usage(12, 30)) is None
    assert make_usage(12, 30)["total_tokens"] == 42


def test_the_conformance_checks_use_the_shared_rule() -> None:
    from contracts.conformance import schemathesis_checks

    assert clauses.usage_problem is usage_problem
    assert schemathesis_checks.usage_problem is usage_problem
    assert not hasattr(clauses, "_usage_problem")
