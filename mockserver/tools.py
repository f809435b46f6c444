"""Tool calling as OpenAI-compatible clients use it: which tools to call, with which arguments.

The request's ``tools`` (OpenAI ``{"type": "function", "function": {...}}`` or the managed
route's ``{"name", "input_schema"}``) and ``tool_choice`` decide:

- ``"none"``: no tool call.
- ``{"type": "function", "function": {"name": N}}``: one call to ``N`` (with ``{}`` as its
  arguments if ``tools`` does not declare ``N``: requests are taken leniently, as the contract says).
- ``"required"``: a call to each tool the last user message names (only the first when
  ``parallel_tool_calls`` is false); if it names none, the tool of a matching reply rule, else the
  first tool.
- ``"auto"`` (the default): a call when the last user message names a tool (as ``"required"``)
  or matches a reply rule with a ``tool_call``; text otherwise.

Arguments come from the reply rule when it names the tool, otherwise they are generated from
the tool's ``parameters`` schema (:func:`mockserver.instances.instance_for`), seeded by the
mock's seed and the request, so the same request always gets the same arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mockserver.instances import instance_for, seeded_random
from mockserver.replies import Reply, ToolCall
from mockserver.tokens import message_text

__all__ = ["Tool", "ToolChoiceError", "call_id", "plan_tool_calls", "tool_result_reply", "tools_of"]

_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class ToolChoiceError(ValueError):
    """``tool_choice`` names a tool the request does not offer (answered with 400)."""


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the client offers: its name and the JSON Schema of its arguments."""

    name: str
    parameters: Mapping[str, Any]


def tools_of(body: Mapping[str, Any]) -> list[Tool]:
    """The tools of a request, in order (both the OpenAI and the managed-route shape)."""
    tools = []
    for entry in body.get("tools") or ():
        if not isinstance(entry, Mapping):
            continue
        inner = entry.get("function")
        function: Mapping[str, Any] = inner if isinstance(inner, Mapping) else entry
        name = function.get("name")
        if not isinstance(name, str) or not name:
            continue
        schema = function.get("parameters", function.get("input_schema"))
        tools.append(Tool(name, schema if isinstance(schema, Mapping) else {"type": "object", "properties": {}}))
    return tools


def call_id(*seed: object) -> str:
    """A tool call id like OpenAI's (``call_`` and 24 letters and digits), derived from ``seed``."""
    rng = seeded_random("call-id", *seed)
    return "call_" + "".join(rng.choice(_ID_CHARS) for _ in range(24))


def _named_in(prompt: str, tools: Sequence[Tool]) -> list[Tool]:
    found = []
    for tool in tools:
        match = re.search(rf"(?<![\w-]){re.escape(tool.name)}(?![\w-])", prompt)
        if match:
            found.append((match.start(), tool))
    return [tool for _, tool in sorted(found, key=lambda pair: pair[0])]


def _arguments(tool: Tool, seed: int, prompt: str, index: int) -> str:
    schema_text = json.dumps(tool.parameters, sort_keys=True, default=str)
    value = instance_for(tool.parameters, "arguments", seed, tool.name, schema_text, prompt, index)
    return json.dumps(value, ensure_ascii=False)


def plan_tool_calls(body: Mapping[str, Any], seed: int, prompt: str, rule_reply: Reply | None) -> Reply | None:
    """The tool-call reply this request gets, or None when it gets text (see the module docstring).

    ``rule_reply`` is the reply of the reply rule matching ``prompt``, if any.

    Raises:
        ToolChoiceError: ``tool_choice`` is an object without a function name.
        mockserver.instances.SchemaError: a tool's ``parameters`` schema cannot be satisfied.
    """
    tools = tools_of(body)
    choice = body.get("tool_choice")
    if choice is None:
        choice = "auto" if tools else "none"
    if choice == "none" or not tools:
        return None
    rule_call = rule_reply.tool_calls[0] if rule_reply is not None and rule_reply.tool_calls else None
    parallel = body.get("parallel_tool_calls") is not False
    chosen: list[Tool]
    if isinstance(choice, Mapping):
        inner = choice.get("function")
        function: Mapping[str, Any] = inner if isinstance(inner, Mapping) else choice
        wanted = function.get("name")
        chosen = [tool for tool in tools if tool.name == wanted][:1]
        if not chosen and isinstance(wanted, str) and wanted:
            # Lenient like the contract: call the named function even if ``tools`` lacks it (no schema: {}).
            chosen = [Tool(wanted, {"type": "object", "properties": {}})]
        if not chosen:
            raise ToolChoiceError("tool_choice names no function")
    else:
        chosen = _named_in(prompt, tools)
        if not parallel:
            chosen = chosen[:1]
        if not chosen and rule_call is not None:
            return rule_reply
        if not chosen:
            if choice != "required":
                return None
            chosen = tools[:1]
    calls = []
    for index, tool in enumerate(chosen):
        if rule_call is not None and rule_call.name == tool.name:
            arguments = rule_call.arguments
        else:
            arguments = _arguments(tool, seed, prompt, index)
        calls.append(ToolCall(call_id(seed, tool.name, arguments, prompt, index), tool.name, arguments))
    return Reply(tool_calls=tuple(calls))


def tool_result_reply(messages: Sequence[Mapping[str, Any]]) -> Reply | None:
    """The text answer to a turn that ends with tool results (``role: "tool"``), or None.

    It names each tool and quotes (the start of) its result, so a test can see the result was read.
    """
    results = []
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "tool":
            break
        results.append(message)
    if not results:
        return None
    names: dict[str, str] = {}
    for message in messages:
        for call in (message.get("tool_calls") or ()) if isinstance(message, Mapping) else ():
            if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping):
                names[str(call.get("id"))] = str(call["function"].get("name") or "the tool")
    parts = []
    for message in reversed(results):
        name = names.get(str(message.get("tool_call_id")), message.get("name") or "the tool")
        text = " ".join(message_text(message.get("content")).split())
        shown = text if len(text) <= 200 else text[:199] + "…"
        parts.append(f"{name} returned {shown}" if shown else f"{name} returned nothing")
    return Reply(text="Based on the tool results: " + "; ".join(parts) + ".")
