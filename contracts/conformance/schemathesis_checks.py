"""Custom schemathesis checks and a budget hook, for ``st run`` users.

Load with ``hooks = "contracts.conformance.schemathesis_checks"`` in ``schemathesis.toml`` (or
``SCHEMATHESIS_HOOKS=contracts.conformance.schemathesis_checks``). Importing this module registers:

* ``ainative_stream_framing``: a streamed response is ``text/event-stream`` framed as
  ``data: <one-line JSON>`` + blank line (schemathesis checks each event's payload, not the framing);
* ``ainative_stream_grammar``: order across events (role first, one id/created, one
  ``finish_reason``, only usage after it, ``[DONE]`` last), which a per-event schema cannot express;
* ``ainative_usage_sum``: ``usage.total_tokens == prompt_tokens + completion_tokens``;
* a ``before_call`` hook that forces a cheap model and a small ``max_tokens`` into chat bodies
  (``AINATIVE_CHECK_MODEL``, default ``claude-3-5-haiku-20241022``; ``AINATIVE_CHECK_MAX_TOKENS``, default 16),
  keeping invalid bodies invalid, and makes valid bodies follow the rules JSON Schema cannot state
  (a ``tool_choice`` names one of the ``tools``; see :func:`contracts.conformance.fuzz.consistent_body`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import schemathesis

import contracts
from contracts.conformance.budget import DEFAULT_MAX_TOKENS, FALLBACK_MODEL
from contracts.conformance.fuzz import consistent_body
from contracts.conformance.sse import framing_problems, grammar_problems, parse_events, payloads
from contracts.usage import usage_problem

__all__ = ["ainative_stream_framing", "ainative_stream_grammar", "ainative_usage_sum", "force_budget"]


def _content_type(response: Any) -> str:
    values = response.headers.get("content-type") or [""]
    return str(values[0] if isinstance(values, list) else values)


def _is_stream(response: Any, case: Any) -> bool:
    body = getattr(case, "body", None)
    asked = isinstance(body, Mapping) and body.get("stream") is True
    is_sse = _content_type(response).split(";")[0].strip().lower() == "text/event-stream"
    return response.status_code == 200 and (asked or is_sse)


@schemathesis.check
def ainative_stream_framing(ctx: Any, response: Any, case: Any) -> bool | None:
    """A streamed chat response is text/event-stream, framed as ``data: <one-line JSON>`` + blank line."""
    if not _is_stream(response, case):
        return None
    problems = framing_problems(_content_type(response), response.content or b"")
    if problems:
        raise AssertionError("SSE framing: " + "; ".join(problems[:5]))
    return True


@schemathesis.check
def ainative_stream_grammar(ctx: Any, response: Any, case: Any) -> bool | None:
    """Chunks come in order: role first, one id/created, one finish_reason, only usage after, [DONE] last."""
    if not _is_stream(response, case):
        return None
    problems = grammar_problems(payloads(parse_events(response.content or b"")))
    if problems:
        raise AssertionError("stream grammar: " + "; ".join(problems[:5]))
    return True


def _usage_objects(response: Any, case: Any) -> list[Any]:
    if response.status_code != 200:
        return []
    if _is_stream(response, case):
        items = payloads(parse_events(response.content or b""))
        return [i["usage"] for i in items if isinstance(i, Mapping) and isinstance(i.get("usage"), Mapping)]
    try:
        body = json.loads(response.content or b"")
    except ValueError:
        return []
    return [body["usage"]] if isinstance(body, Mapping) and isinstance(body.get("usage"), Mapping) else []


@schemathesis.check
def ainative_usage_sum(ctx: Any, response: Any, case: Any) -> bool | None:
    """``usage.total_tokens`` equals ``prompt_tokens + completion_tokens``."""
    usages = _usage_objects(response, case)
    for usage in usages:
        if problem := usage_problem(usage):
            raise AssertionError(problem)
    return True if usages else None


def force_budget(body: Any, model: str, max_tokens: int) -> Any:
    """``body`` with a cheap model and small ``max_tokens``, unless that would make an invalid body valid.

    Example:
        >>> force_budget({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4096}, "m", 16)["max_tokens"]
        16
    """
    if not isinstance(body, dict) or ("messages" not in body and "model" not in body):
        return body
    was_valid = not contracts.errors_for("chat-request", body)
    forced = {**body, "model": model, "max_tokens": max_tokens}
    if "tools" in forced or "max_iterations" in forced:
        forced["max_iterations"] = 1
    if forced.get("preferred_model") is not None:
        forced["preferred_model"] = model
    if was_valid:
        forced = consistent_body(forced)  # tool_choice names an offered tool; small satisfiable schemas
    still_valid = not contracts.errors_for("chat-request", forced)
    return forced if still_valid == was_valid else body


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Force the budget into every chat body before schemathesis sends it."""
    if not case.path.endswith("/chat/completions"):
        return
    model = os.environ.get("AINATIVE_CHECK_MODEL", FALLBACK_MODEL)
    max_tokens = int(os.environ.get("AINATIVE_CHECK_MAX_TOKENS", str(DEFAULT_MAX_TOKENS)))
    case.body = force_budget(case.body, model, max_tokens)
