"""schemathesis against the served ``/openapi.json``: positive and negative cases over a real socket.

Every response must be no server error, conform to its documented schema and have a documented
status. Most cases carry valid credentials (so the pipeline past auth is exercised); the rest
keep what schemathesis generated. More than 1,000 cases in all (see :data:`BUDGET`).

The control API is fuzzed on a server of its own: a fuzzed ``PUT /_mock/config`` or queued fault
must not change what the public operations answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mockserver.app import BALANCE_ROUTES, CHAT_ROUTES, MODEL_ROUTES
from mockserver.config import MockConfig
from mockserver.testing import ServedMock
from tests.support.raw_http import let_server_finish_logging

pytestmark = [pytest.mark.reliability, pytest.mark.socket, pytest.mark.slow]

POSITIVE = schemathesis.GenerationMode.POSITIVE
NEGATIVE = schemathesis.GenerationMode.NEGATIVE
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.status_code_conformance,
]
JWT_SECRET = "ainative-mock-jwt-secret-for-tests-only"

PUBLIC_OPERATIONS = [("POST", path) for path in CHAT_ROUTES] + [
    ("GET", path) for path in (*BALANCE_ROUTES, *MODEL_ROUTES)
]
CONTROL_WITH_INPUT = [
    ("PUT", "/_mock/keys/{key}"),
    ("POST", "/_mock/faults"),
    ("POST", "/_mock/replies"),
    ("PUT", "/_mock/config"),
    ("PUT", "/_mock/accounts/{id}"),
]
CONTROL_WITHOUT_INPUT = [
    ("GET", "/_mock/requests"),
    ("POST", "/_mock/reset"),
    ("GET", "/_mock/faults"),
    ("DELETE", "/_mock/faults"),
    ("GET", "/_mock/config"),
    ("GET", "/_mock/accounts"),
]
NOT_FUZZED = {("GET", "/_mock/events"): "an endless SSE stream of journal entries (tests/browser covers it)"}


def _budget(method: str, path: str, mode: schemathesis.GenerationMode) -> int:
    """Cases per operation and mode: chat bodies are slow to generate, the rest are cheap."""
    if (method, path) in CONTROL_WITHOUT_INPUT:
        return 1  # nothing to vary: Hypothesis stops after the one case there is
    if method == "POST" and path in CHAT_ROUTES:
        return 25
    if (method, path) in CONTROL_WITH_INPUT:
        return 30
    return 60


RUNS = [(m, p, POSITIVE) for m, p in PUBLIC_OPERATIONS + CONTROL_WITH_INPUT + CONTROL_WITHOUT_INPUT] + [
    (m, p, NEGATIVE) for m, p in PUBLIC_OPERATIONS + CONTROL_WITH_INPUT
]
BUDGET = {run: _budget(*run) for run in RUNS}


def test_the_budget_is_over_a_thousand_cases() -> None:
    assert sum(BUDGET.values()) >= 1000, sum(BUDGET.values())


@pytest.fixture(scope="module")
def public_mock() -> Iterator[ServedMock]:
    """The server for the public operations: plenty of credits, unknown models are a 404 (not the default 503)."""
    with ServedMock(MockConfig(credits=10**12, unknown_model_status=404)) as mock:
        yield mock


@pytest.fixture(scope="module")
def control_mock() -> Iterator[ServedMock]:
    """A server of its own for the control API, so that fuzzed settings and faults stay there."""
    with ServedMock(MockConfig(credits=10**12, unknown_model_status=404)) as mock:
        yield mock


def served_schema(mock: ServedMock) -> schemathesis.BaseSchema:
    """The document the server serves, loaded by schemathesis from its URL, aimed at the server."""
    schema = schemathesis.openapi.from_url(f"{mock.base_url}/openapi.json", config=schemathesis.Config())
    schema.config.update(base_url=mock.base_url)
    return schema


def test_every_served_operation_is_fuzzed(public_mock: ServedMock) -> None:
    schema = served_schema(public_mock)
    served = {(op.method.upper(), op.path) for op in (result.ok() for result in schema.get_all_operations())}
    fuzzed = {(method, path) for method, path, _ in RUNS} | set(NOT_FUZZED)
    assert served == fuzzed, f"not fuzzed: {sorted(served - fuzzed)}; gone: {sorted(fuzzed - served)}"


CREDENTIALS = st.sampled_from(["x-api-key", "x-api-key", "x-api-key", "bearer-key", "bearer-jwt", "as-generated"])
"""Five in six cases authenticate properly; the rest keep the headers schemathesis generated."""


def authenticate(headers: dict[str, str] | None, how: str) -> dict[str, str]:
    headers = dict(headers or {})
    if how == "as-generated":
        return headers
    for name in list(headers):
        if name.lower() in ("x-api-key", "authorization"):
            del headers[name]
    if how == "x-api-key":
        headers["X-API-Key"] = "ak_fuzz_000000000001"
    elif how == "bearer-key":
        headers["Authorization"] = "Bearer sk_fuzz_000000000002"
    else:
        token = jwt.encode({"sub": "fuzzer", "exp": int(time.time()) + 3600}, JWT_SECRET, algorithm="HS256")
        headers["Authorization"] = f"Bearer {token}"
    return headers


@pytest.mark.parametrize(
    ("method", "path", "mode"), RUNS, ids=[f"{mode.value}-{method}-{path}" for method, path, mode in RUNS]
)
def test_generated_requests_get_documented_answers(
    public_mock: ServedMock, control_mock: ServedMock, method: str, path: str, mode: schemathesis.GenerationMode
) -> None:
    mock = control_mock if path.startswith("/_mock/") else public_mock
    operation = served_schema(mock)[path][method]
    budget = BUDGET[(method, path, mode)]
    statuses: dict[int, int] = {}
    session = requests.Session()

    @settings(
        max_examples=budget,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), how=CREDENTIALS)
    def run(case: schemathesis.Case, how: str) -> None:
        case.headers = authenticate(case.headers, how)
        response = case.call(base_url=mock.base_url, session=session, timeout=10)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        let_server_finish_logging(response.status_code)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    finally:
        session.close()
    cases = sum(statuses.values())
    assert cases >= budget, f"only {cases} of {budget} cases ran: {statuses}"
    if mode is POSITIVE and path in CHAT_ROUTES:
        assert statuses.get(200, 0) > 0, f"no generated request was answered 200: {statuses}"
