"""Stateful properties of credits: whatever the sequence of requests, the ledger is exact and never overspends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule
from starlette.testclient import TestClient

from mockserver.ledger import MICRO, Ledger
from mockserver.models import ModelInfo
from tests.support.chat import BALANCE, CHAT, chat_body, headers
from tests.support.checks import check_response, stream_usage
from tests.support.mocks import new_mock

KEYS = ("ak_state_alice_0001", "ak_state_bob_00002", "sk_state_carol_003")
PROMPTS = (
    "Tell me about ledgers",
    "hi",
    "count to 12",
    "count to 3",
    "Why do token buckets refill continuously instead of at the start of each minute?",
)
PRICES = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("3"), places=3)
SETTINGS = settings(
    max_examples=20, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class ChatCredits(RuleBasedStateMachine):
    """Chat requests and set_credits against the app in-process; a twin mock with unlimited credits predicts usage."""

    @initialize(prices=st.lists(PRICES, min_size=3, max_size=3), credits=st.integers(0, 120))
    def start(self, prices: list[Decimal], credits: int) -> None:
        self.prices = {f"m-{i}": price for i, price in enumerate(prices)}
        models = tuple(ModelInfo(model, 100_000, "ainative", price=float(p)) for model, p in self.prices.items())
        self.mock = new_mock(models=models, default_model="m-0", credits=credits)
        self.twin = new_mock(models=models, default_model="m-0", credits=10**9)
        self.client = TestClient(self.mock.app).__enter__()  # one event-loop thread for the whole run
        self.twin_client = TestClient(self.twin.app).__enter__()
        self.start_credits = dict.fromkeys(KEYS, credits)
        self.charges: dict[str, list[Decimal]] = {key: [] for key in KEYS}
        self.answered = 0

    def teardown(self) -> None:
        if hasattr(self, "client"):
            self.client.__exit__(None, None, None)
            self.twin_client.__exit__(None, None, None)

    def expected_remaining(self, key: str) -> Decimal:
        return Decimal(self.start_credits[key]) - sum(self.charges[key], Decimal(0))

    @rule(
        key=st.sampled_from(KEYS),
        model=st.sampled_from(("m-0", "m-1", "m-2")),
        prompt=st.sampled_from(PROMPTS),
        stream=st.booleans(),
        max_tokens=st.none() | st.integers(1, 40),
    )
    def chat(self, key: str, model: str, prompt: str, stream: bool, max_tokens: int | None) -> None:
        body = chat_body(prompt, model=model, stream=stream, include_usage=stream, max_tokens=max_tokens)
        twin = self.twin_client.post(CHAT, headers=headers(key), json=body)
        assert twin.status_code == 200
        usage = stream_usage(twin.content) if stream else twin.json()["usage"]
        cost = usage["total_tokens"] * self.prices[model]

        response = self.client.post(CHAT, headers=headers(key), json=body)
        answer = check_response(response)
        if cost > self.expected_remaining(key):
            assert response.status_code == 402, (cost, self.expected_remaining(key), answer)
            assert answer == {"detail": "Insufficient credits"}
        else:
            assert response.status_code == 200, (cost, self.expected_remaining(key), answer)
            got = stream_usage(response.content) if stream else answer["usage"]
            assert got == usage
            self.charges[key].append(cost)
            self.answered += 1
        entry = self.mock.state.requests()[-1]
        assert entry.status == response.status_code
        assert entry.usage == usage
        assert Decimal(str(entry.charged)) == (cost if response.status_code == 200 else 0)

    @rule(key=st.none() | st.sampled_from(KEYS), credits=st.integers(0, 120))
    def set_credits(self, key: str | None, credits: int) -> None:
        self.mock.state.set_credits(credits, key)
        for k in KEYS if key is None else (key,):
            self.start_credits[k] = credits
            self.charges[k] = []

    @invariant()
    def balance_is_start_minus_charges(self) -> None:
        if not hasattr(self, "client"):
            return
        for key in KEYS:
            response = self.client.get(BALANCE, headers=headers(key))
            assert response.status_code == 200
            balance = check_response(response)
            expected = self.expected_remaining(key)
            assert expected >= 0
            assert balance["remaining_credits"] >= 0
            assert Decimal(str(balance["remaining_credits"])) == expected
            assert Decimal(str(balance["used_credits"])) == sum(self.charges[key], Decimal(0))
            assert balance["total_credits"] == self.start_credits[key]


ChatCredits.TestCase.settings = SETTINGS
test_chat_credits = ChatCredits.TestCase


class LedgerReservations(RuleBasedStateMachine):
    """Reserve and settle directly on a Ledger against a model in plain integers.

    Setting credits starts a fresh period with nothing used; a stream reserved in the previous period that
    settles afterwards must not change the new period (its refund belongs to the old one).
    """

    reservations = Bundle("reservations")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = Ledger(50, "pro")
        self.total = dict.fromkeys(KEYS, 50)
        self.used = dict.fromkeys(KEYS, 0)
        self.unlimited = dict.fromkeys(KEYS, False)
        self.period = dict.fromkeys(KEYS, 0)

    @rule(target=reservations, key=st.sampled_from(KEYS), cost=st.integers(0, 20 * MICRO))
    def reserve(self, key: str, cost: int) -> Any:
        fits = self.unlimited[key] or self.total[key] * MICRO - self.used[key] >= cost
        held = self.ledger.reserve(key, cost)
        assert (held is not None) is fits
        if held is None:
            return None
        self.used[key] += cost
        return (held, self.period[key])

    @rule(reservation=consumes(reservations), fraction=st.fractions(0, 2))
    def settle(self, reservation: Any, fraction: Any) -> None:
        if reservation is None:
            return
        held, period = reservation
        key, cost = held.key, held.amount
        actual = int(cost * fraction)
        self.ledger.settle(held, actual)
        if period == self.period[key]:
            self.used[key] -= cost - min(actual, cost)

    @rule(key=st.sampled_from(KEYS), credits=st.integers(0, 80), unlimited=st.booleans())
    def configure(self, key: str, credits: int, unlimited: bool) -> None:
        self.ledger.configure(key, credits=credits, unlimited=unlimited)
        self.total[key], self.used[key], self.unlimited[key] = credits, 0, unlimited
        self.period[key] += 1

    @invariant()
    def accounts_match(self) -> None:
        for key in KEYS:
            account = self.ledger.account(key)
            assert account.used == self.used[key], "used credits differ from the model"
            assert account.used >= 0
            assert account.remaining == max(self.total[key] * MICRO - self.used[key], 0)
            assert account.remaining <= account.total * MICRO


# No shrink phase: shrinking bundles of reservations takes ~30 s; test_ledger.py holds the minimal cases.
LedgerReservations.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate]
)
test_ledger_reservations = LedgerReservations.TestCase
