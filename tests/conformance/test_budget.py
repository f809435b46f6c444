"""The request cap lives in one place, the client, and cannot be exceeded."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.conformance.asgi import SyncASGITransport
from contracts.conformance.budget import Budget, BudgetExceeded, spend_bound
from contracts.conformance.client import ContractClient, PlannedRequest


def test_budget_counts_and_refuses() -> None:
    budget = Budget(2)
    budget.spend()
    budget.spend()
    with pytest.raises(BudgetExceeded, match="2 of 2"):
        budget.spend()
    assert budget.sent == 2
    assert budget.remaining == 0


def test_negative_budget_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        Budget(-1)


def test_client_sends_nothing_over_budget(make_app: Any) -> None:
    app, state = make_app()
    with ContractClient("http://reference.test", Budget(3), transport=SyncASGITransport(app)) as client:
        for _ in range(3):
            client.send(PlannedRequest("x", "GET", "/v1/models"))
        with pytest.raises(BudgetExceeded):
            client.send(PlannedRequest("x", "GET", "/v1/models"))
    assert state.requests == 3


def test_spend_bound_adds_body_bytes_and_max_tokens() -> None:
    bound = spend_bound([(100, 16), (20, 16)], credits_per_token=0.5)
    assert (bound.paid_requests, bound.max_tokens, bound.max_credits) == (2, 152, 76.0)
