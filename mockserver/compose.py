"""What the assistant answers to one request, and why it stopped.

Precedence, first that applies:

1. a scripted reply (``MockState.reply``);
2. a turn ending in tool results (``role: "tool"``): text that refers to the results;
3. tool calls chosen by ``tools`` and ``tool_choice`` (:mod:`mockserver.tools`);
4. a matching reply rule;
5. ``response_format`` ``json_object`` / ``json_schema`` (:mod:`mockserver.structured`);
6. the default generated text.

Then a text reply is cut at the first ``stop`` sequence (``finish_reason: "stop"``) and to
``max_tokens`` (``"length"``); tool calls finish with ``"tool_calls"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.config import ReplyRule
from mockserver.replies import Reply, apply_stop, generate_reply, last_user_message, match_rule, truncate
from mockserver.structured import structured_reply
from mockserver.tools import plan_tool_calls, tool_result_reply

__all__ = ["compose_reply"]


def compose_reply(
    body: Mapping[str, Any],
    *,
    seed: int,
    rules: Sequence[ReplyRule],
    scripted: Reply | None,
    default_max_tokens: int,
) -> tuple[Reply, str]:
    """The reply to ``body`` and its finish reason (see the module docstring).

    Raises:
        mockserver.tools.ToolChoiceError: ``tool_choice`` names a tool not in ``tools``.
        mockserver.structured.ResponseFormatError: a ``json_schema`` no value can satisfy.
        mockserver.instances.SchemaError: a tool's ``parameters`` no value can satisfy.
    """
    messages = body["messages"]
    prompt = last_user_message(messages)
    reply = scripted or tool_result_reply(messages)
    if reply is None:
        rule = match_rule(rules, seed, prompt)
        if body.get("tools"):  # (no tools, no tool calls: plan_tool_calls would answer None)
            reply = plan_tool_calls(body, seed, prompt, rule)
        if reply is None and rule is not None and not (rule.tool_calls and body.get("tool_choice") == "none"):
            reply = rule
        if reply is None:
            generated = generate_reply(seed, prompt)  # a text reply
            text = generated.text or ""
            reply = structured_reply(body.get("response_format"), seed, prompt, text) or (
                generated if generated.text is not None else Reply(text=text)
            )
    if reply.tool_calls:
        return reply, "tool_calls"
    stop = body.get("stop")
    if stop:  # (apply_stop cuts nothing without one)
        reply, _ = apply_stop(reply, stop)
    max_tokens = body.get("max_tokens") or default_max_tokens
    reply, cut = truncate(reply, int(max_tokens))  # JSON Schema counts 3.0 as an integer
    return reply, "length" if cut else "stop"
