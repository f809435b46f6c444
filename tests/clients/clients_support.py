"""Shared by the client-matrix tests: a served mock per module and the version each test names."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

KEY = "ak_clients_0000000001"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}


def release_fixture(distribution: str, version: str) -> Any:
    """A module fixture whose id names the client and version (``openai==3.63.0``) and checks it is installed."""

    @pytest.fixture(scope="module", autouse=True, params=[version], ids=[f"{distribution}=={version}"])
    def release(request: pytest.FixtureRequest) -> str:
        installed = importlib.metadata.version(distribution)
        assert installed == request.param, (
            f"{distribution} {installed} is installed but these tests name {request.param}: "
            "re-run them against the new version and update the name (and the README's client matrix)"
        )
        return str(request.param)

    return release
