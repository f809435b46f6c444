"""Replies: deterministic per seed, truncated by max_tokens, usage arithmetic, model defaults, lenient input."""

from __future__ import annotations

import pytest

from mockserver.config import ReplyRule
from mockserver.tokens import split_tokens
from tests.support.chat import BODY, HEADERS, KEY, chat
from tests.support.checks import check_response, finish_reason, stream_text
from tests.support.mocks import Mock, MockFactory

PROMPTS = ["What is ZeroDB?", "Explain vectors", "hello there", "Why is the sky blue?", "Write a haiku", "ping"]


def _text(m: Mock, body: dict[str, object]) -> str:
    return str(check_response(m.post(body))["choices"][0]["message"]["content"])


def test_same_request_and_seed_give_the_same_text(make_mock: MockFactory) -> None:
    first, second = make_mock(seed=7), make_mock(seed=7)
    for prompt in PROMPTS:
        body = chat([{"role": "user", "content": prompt}])
        text = _text(first, body)
        assert text == _text(first, body) == _text(second, body)


def test_different_seeds_may_give_different_text(make_mock: MockFactory) -> None:
    mocks = [make_mock(seed=seed) for seed in range(6)]
    differs = [
        prompt for prompt in PROMPTS if len({_text(m, chat([{"role": "user", "content": prompt}])) for m in mocks}) > 1
    ]
    assert differs, "no prompt changed its reply with the seed"


def test_reply_depends_on_the_last_user_message(mock: Mock) -> None:
    texts = {_text(mock, chat([{"role": "user", "content": p}])) for p in PROMPTS}
    assert len(texts) == len(PROMPTS)
    history = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": "What is ZeroDB?"},
    ]
    assert _text(mock, chat(history)) == _text(mock, BODY)


def test_count_to_five_counts(mock: Mock) -> None:
    assert _text(mock, chat([{"role": "user", "content": "Count to 5"}])) == "1, 2, 3, 4, 5"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_max_tokens_truncates_and_sets_finish_reason_length(mock: Mock, stream: bool) -> None:
    full = _text(mock, BODY)
    assert len(split_tokens(full)) > 3
    response = mock.post({**BODY, "max_tokens": 3, "stream": stream, "stream_options": {"include_usage": True}})
    body = check_response(response)
    if stream:
        text, reason, usage = stream_text(body), finish_reason(body), body[-1]["usage"]
    else:
        text, reason, usage = (
            body["choices"][0]["message"]["content"],
            body["choices"][0]["finish_reason"],
            body["usage"],
        )
    assert text == "".join(split_tokens(full)[:3])
    assert reason == "length"
    assert usage["completion_tokens"] == 3


def test_max_tokens_at_the_reply_length_is_a_normal_stop(mock: Mock) -> None:
    full = _text(mock, BODY)
    body = check_response(mock.post({**BODY, "max_tokens": len(split_tokens(full))}))
    assert body["choices"][0]["message"]["content"] == full
    assert body["choices"][0]["finish_reason"] == "stop"


def test_default_max_tokens_applies_when_the_request_sets_none(make_mock: MockFactory) -> None:
    m = make_mock(default_max_tokens=2)
    body = check_response(m.post({**BODY, "max_tokens": None}))
    assert body["usage"]["completion_tokens"] == 2
    assert body["choices"][0]["finish_reason"] == "length"


def test_usage_adds_up_and_follows_the_documented_token_rule(mock: Mock) -> None:
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},  # 5 tokens + 4
        {"role": "user", "content": "What is ZeroDB?"},  # 3 tokens + 4
    ]
    mock.state.reply("one two three four")
    body = check_response(mock.post(chat(messages, system="Be brief.")))  # 2 tokens + 4
    usage = body["usage"]
    assert usage == {"prompt_tokens": 2 + 9 + 7 + 6, "completion_tokens": 4, "total_tokens": 28}


def test_usage_is_charged_to_the_key(mock: Mock) -> None:
    totals = [check_response(mock.post(BODY))["usage"]["total_tokens"] for _ in range(3)]
    balance = check_response(mock.client.get("/api/v1/public/credits/balance", headers=HEADERS))
    assert balance["used_credits"] == sum(totals)
    assert balance["remaining_credits"] == 1_000_000 - sum(totals)


def test_model_defaults_to_claude_3_5_sonnet(mock: Mock) -> None:
    for body in (chat(), chat(model=None)):
        answer = check_response(mock.post(body))
        assert answer["model"] == "claude-3-5-sonnet-20241022"
        assert answer["provider"] == "anthropic"


def test_preferred_model_is_an_alias_of_model(mock: Mock) -> None:
    answer = check_response(
        mock.post(chat(preferred_model="gpt-4o"), path="/api/v1/public/managed-chat/chat/completions")
    )
    assert answer["model"] == "gpt-4o"
    assert answer["provider"] == "openai"
    chunks = check_response(mock.post(chat(model=None, preferred_model="claude-3-opus-20240229", stream=True)))
    assert chunks[0]["model"] == "claude-3-opus-20240229"


def test_unknown_fields_are_ignored(mock: Mock) -> None:
    plain = _text(mock, BODY)
    extra = {
        **BODY,
        "frobnicate": {"deep": [1, 2, 3]},
        "provider": "meta_llama",
        "max_iterations": 3,
        "tool_choice": "auto",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "user": "u-1",
        "seed": 42,
        "top_p": 0.5,
        "n": 1,
        "logit_bias": {},
    }
    assert _text(mock, extra) == plain


def test_content_parts_are_read_as_text(mock: Mock) -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "What is"}, {"type": "text", "text": "ZeroDB?"}]}]
    assert _text(mock, chat(parts)) == _text(mock, BODY)


def test_reply_rules_match_substring_and_regex(make_mock: MockFactory) -> None:
    rules = (ReplyRule(match="ZeroDB", text="A database."), ReplyRule(match=r"^count \d+$", regex=True, text="n"))
    m = make_mock(replies=rules)
    assert _text(m, BODY) == "A database."
    assert _text(m, chat([{"role": "user", "content": "count 12"}])) == "n"
    assert _text(m, chat([{"role": "user", "content": "please count 12"}])) != "n"


def test_scripted_reply_is_used_once_and_only_by_an_answered_request(mock: Mock) -> None:
    mock.state.reply("Scripted!")
    assert mock.post(BODY, headers={"X-API-Key": "bad"}).status_code == 401
    assert mock.post({"messages": []}).status_code == 422
    assert _text(mock, BODY) == "Scripted!"
    assert _text(mock, BODY) != "Scripted!"
    assert mock.state.pending()["replies"] == []


def test_credits_run_out_then_402(make_mock: MockFactory) -> None:
    m = make_mock(credits=50)
    statuses = [m.post(BODY).status_code for _ in range(4)]
    assert statuses[0] == 200
    assert 402 in statuses
    assert statuses[statuses.index(402) :] == [402] * (len(statuses) - statuses.index(402))
    balance = check_response(m.client.get("/v1/public/credits/balance", headers={"X-API-Key": KEY}))
    assert 0 <= balance["remaining_credits"] < 50
