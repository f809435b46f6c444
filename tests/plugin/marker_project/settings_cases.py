"""Each marker setting, on both fixtures (run by tests/plugin/test_marker.py as test_settings.py)."""

import time

import httpx
import pytest

mark = pytest.mark.ainative_mock


def text(response):
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def test_unmarked_defaults(mock, chat):
    assert chat().status_code == 200
    balance = mock.balance()
    assert (balance["total_credits"], balance["plan"]) == (1_000_000, "pro")


@mark(credits=0)
def test_credits_zero_gives_402(mock, chat):
    response = chat()
    assert response.status_code == 402
    assert response.json() == {"detail": "Insufficient credits"}
    assert mock.balance()["total_credits"] == 0


@mark(credits=1234)
def test_credits_sets_the_balance(mock, chat):
    usage = chat().json()["usage"]
    balance = mock.balance()
    assert balance["total_credits"] == 1234
    assert balance["used_credits"] == usage["total_tokens"]


@mark(plan="free", models=[{"id": "gpt-4o", "plans": ["pro", "enterprise"]}, {"id": "mock-small"}])
def test_plan_gates_models_and_shows_in_the_balance(mock, chat):
    gated = chat(model="gpt-4o")
    assert gated.status_code == 403
    assert "free plan" in gated.json()["detail"]
    assert chat(model="mock-small").status_code == 200
    balance = mock.balance()
    assert (balance["plan"], balance["period_end"]) == ("free", None)


@mark(rpm=2)
def test_rpm_answers_429_on_the_request_after_the_limit(mock, chat):
    statuses = [chat().status_code for _ in range(2)]
    third = chat()
    assert statuses == [200, 200]
    assert third.status_code == 429
    assert int(third.headers["retry-after"]) >= 1
    assert third.headers["x-ratelimit-limit-requests"] == "2"


@mark(tpm=40)
def test_tpm_answers_429_once_the_tokens_are_spent(mock, chat):
    first = chat()
    assert first.status_code == 200
    assert 20 < first.json()["usage"]["total_tokens"] <= 40  # precondition: a second one does not fit
    second = chat()
    assert second.status_code == 429
    assert "tokens per minute" in second.json()["detail"]


@mark(unavailable_models=["gpt-4o"])
def test_unavailable_models_answer_503(mock, chat):
    down = chat(model="gpt-4o")
    assert down.status_code == 503
    assert down.headers["retry-after"] == "1"
    assert chat(model="claude-3-5-haiku-20241022").status_code == 200


@mark(random_faults=["500", "503"], fault_rate=1)
def test_fault_rate_one_faults_every_request(mock, chat):
    statuses = {chat().status_code for _ in range(6)}
    assert statuses <= {500, 503}
    assert mock.count(status=200) == 0
    assert all(entry.fault["source"] == "rate" for entry in mock.requests)


@pytest.mark.parametrize(
    ("style", "keys"),
    [
        pytest.param("detail", {"detail"}, marks=mark(credits=0)),
        pytest.param("openai", {"error"}, marks=mark(credits=0, error_style="openai")),
        pytest.param("compat", {"detail", "code", "message", "error"}, marks=mark(credits=0, error_style="compat")),
    ],
)
def test_error_style_shapes_error_bodies(mock, chat, style, keys):
    body = chat().json()
    assert set(body) == keys
    if style != "detail":
        assert body["error"]["code"] == "insufficient_credits"
        assert set(body["error"]) == {"message", "type", "code", "param"}
    if style == "compat":
        assert (body["code"], body["detail"], body["message"]) == (
            "INSUFFICIENT_CREDITS",
            "Insufficient credits",
            "Insufficient credits",
        )


SEEN = {}
PROMPTS = [f"prompt number {n}" for n in range(5)]


@pytest.mark.parametrize(
    "run", [pytest.param(n, marks=mark(seed=seed), id=f"seed{seed}-{n}") for n, seed in enumerate([7, 7, 8])]
)
def test_seed_makes_replies_reproducible(mock, chat, run):
    replies = [text(chat(prompt)) for prompt in PROMPTS]
    assert replies == [text(chat(prompt)) for prompt in PROMPTS]  # the same request, the same words
    SEEN[(mock.base_url.startswith("http://127"), run)] = replies


def test_same_seed_same_text_other_seed_differs():
    for served in (False, True):
        assert SEEN[(served, 0)] == SEEN[(served, 1)]
        assert SEEN[(served, 0)] != SEEN[(served, 2)]
    assert SEEN[(False, 0)] == SEEN[(True, 0)]


@mark(
    reply_rules=[
        {"match": "weather", "text": "Sunny, 21 degrees"},
        {"match": "^order \\d+$", "regex": True, "tool_call": {"name": "lookup_order", "arguments": {"id": 42}}},
    ]
)
def test_reply_rules(mock, chat):
    assert text(chat("What is the weather like?")) == "Sunny, 21 degrees"
    choice = chat("order 42").json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]["function"]
    assert (call["name"], call["arguments"]) == ("lookup_order", '{"id":42}')
    assert "Sunny" not in text(chat("something else"))


@mark(queued_replies=["first", "second"])
def test_scripted_replies_come_in_order(mock, chat):
    assert [text(chat()) for _ in range(3)][:2] == ["first", "second"]
    assert mock.pending()["replies"] == []


@mark(queued_faults=["500", {"fault": "http_error", "status": 429, "retry_after": 2, "times": 2}])
def test_queued_faults_come_in_order_then_normal_answers(mock, chat):
    responses = [chat() for _ in range(4)]
    assert [r.status_code for r in responses] == [500, 429, 429, 200]
    assert responses[1].headers["retry-after"] == "2"


@mark(ttft_ms=300, tokens_per_second=40, queued_replies=["a b c d e f g h i j k l m n o p"])
def test_stream_pacing_on_a_real_socket(ainative_server):
    started = time.perf_counter()
    arrivals = []
    with httpx.stream(
        "POST",
        ainative_server.base_url + "/v1/public/chat/completions",
        headers=ainative_server.headers,
        json={"messages": [{"role": "user", "content": "Hello"}], "stream": True},
        timeout=20,
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: {") and '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.perf_counter() - started)
    assert len(arrivals) >= 8
    assert arrivals[0] >= 0.25  # time to first token ~0.3 s
    assert arrivals[-1] - arrivals[0] >= 0.6 * (len(arrivals) - 1) / 40  # ~25 ms per token, loosely
    assert arrivals[-1] < 10


def test_pacing_does_not_leak_into_the_next_test(ainative_server):
    assert (ainative_server.state.config.ttft_ms, ainative_server.state.config.tokens_per_second) == (0, 0)
    started = time.perf_counter()
    with httpx.stream(
        "POST",
        ainative_server.base_url + "/v1/public/chat/completions",
        headers=ainative_server.headers,
        json={"messages": [{"role": "user", "content": "Hello"}], "stream": True},
        timeout=20,
    ) as response:
        assert b"data: [DONE]" in response.read()
    assert time.perf_counter() - started < 0.6  # paced as above, it would take 0.7 s
