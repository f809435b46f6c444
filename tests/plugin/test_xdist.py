"""Under pytest-xdist every worker has its own mocks: parallel tests with different settings do not interfere."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

Runner = Callable[..., pytest.RunResult]

PARALLEL = """
import json
import os
import time

import httpx
import pytest

CREDITS = [1000 + 111 * n for n in range(8)]


@pytest.fixture(params=["ainative_mock", "ainative_server"])
def mock(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize(
    "credits", [pytest.param(c, marks=pytest.mark.ainative_mock(credits=c), id=str(c)) for c in CREDITS]
)
def test_own_balance(mock, credits):
    assert mock.balance()["total_credits"] == credits
    time.sleep(0.05)  # let the other worker's tests run meanwhile
    used = 0
    for _ in range(2):
        response = httpx.post(
            mock.base_url + "/v1/public/chat/completions",
            headers=mock.headers,
            json={"messages": [{"role": "user", "content": f"spend from {credits}"}]},
            timeout=20,
        )
        assert response.status_code == 200
        used += response.json()["usage"]["total_tokens"]
    balance = mock.balance()
    assert (balance["total_credits"], balance["used_credits"]) == (credits, used)
    assert mock.count() == 2
    record = {"worker": os.environ["PYTEST_XDIST_WORKER"], "url": mock.base_url, "credits": credits}
    name = f"{os.getpid()}-{time.perf_counter_ns()}.json"
    with open(os.path.join(os.environ["RECORDS_DIR"], name), "w") as file:
        json.dump(record, file)
"""


def test_parallel_workers_do_not_share_state(
    inner: pytest.Pytester, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    records_dir = inner.mkdir("records")
    monkeypatch.setenv("RECORDS_DIR", str(records_dir))
    inner.makepyfile(test_parallel=PARALLEL)
    result = run("-n", "2")
    result.assert_outcomes(passed=16)
    result.stdout.fnmatch_lines(["created: 2/2 workers"])
    records = [json.loads(path.read_text()) for path in records_dir.iterdir()]
    assert len(records) == 16
    workers = {r["worker"] for r in records}
    assert workers == {"gw0", "gw1"}, "both workers should have run tests"
    served = {(r["worker"], r["url"]) for r in records if r["url"].startswith("http://127.0.0.1:")}
    urls = {url for _, url in served}
    assert len(served) == len(urls) == len({w for w, _ in served}), f"one server per worker: {served}"
