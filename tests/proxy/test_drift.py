"""``ainative-mock drift``: recorded traffic held to the contract, grouped by schema path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.app import AINativeMock
from mockserver.cli import main
from mockserver.config import MockConfig
from mockserver.models import DEFAULT_MODEL
from mockserver.server import ServerThread

pytestmark = pytest.mark.socket

KEY = "sk_live_drift_key_0001"


def _chat(content: str, stream: bool = False, model: str = "upstream-model") -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": content}]}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return body


def test_drift_finds_an_added_field_and_a_changed_status(upstream, start_proxy, tmp_path, capsys) -> None:
    app, direct_url = upstream
    record = tmp_path / "cassettes"
    _, proxy_url = start_proxy(direct_url, record=record)
    app.defect = "extra-field"
    for n in range(3):
        httpx.post(proxy_url + "/v1/chat/completions", json=_chat(f"question {n}"), headers={"X-API-Key": KEY})
    app.defect = "status-201"
    httpx.post(proxy_url + "/v1/chat/completions", json=_chat("created?"), headers={"X-API-Key": KEY})
    app.defect = None
    httpx.post(proxy_url + "/v1/chat/completions", json=_chat("fine", stream=True), headers={"X-API-Key": KEY})
    assert len(list(record.iterdir())) == 5

    status = main(["drift", str(record), "--json", str(tmp_path / "drift.json")])
    out = capsys.readouterr().out
    assert status == 1
    assert "chat-completion $.reasoning_trace: field not in the contract  [3 cassette(s)]" in out
    assert "status POST /v1/chat/completions: 201 not documented" in out
    assert "e.g. post-v1-chat-completions-" in out and '{"steps": 2}' in out  # one example, with the value
    findings = json.loads((tmp_path / "drift.json").read_text())["findings"]
    assert {(f["group"], f["count"]) for f in findings} == {
        ("chat-completion $.reasoning_trace", 3),
        ("status POST /v1/chat/completions", 1),
    }


def test_drift_exits_0_on_cassettes_that_agree(start_proxy, tmp_path, capsys) -> None:
    """Traffic recorded from the mock (which the suite holds to the contract) shows no drift."""
    record = tmp_path / "cassettes"
    with ServerThread(AINativeMock(MockConfig(seed=3)).app) as served:
        _, proxy_url = start_proxy(served.base_url, record=record)
        auth = {"X-API-Key": KEY}
        model = DEFAULT_MODEL
        for path in ("/api/v1/chat/completions", "/v1/chat/completions", "/api/v1/managed/chat/completions"):
            assert httpx.post(proxy_url + path, json=_chat("hello", model=model), headers=auth).status_code == 200
            assert httpx.post(proxy_url + path, json=_chat("hello", True, model), headers=auth).status_code == 200
        httpx.get(proxy_url + "/api/v1/public/credits/balance", headers=auth)
        httpx.get(proxy_url + "/v1/models", headers=auth)
        httpx.post(proxy_url + "/v1/chat/completions", json=_chat("no key"))
        httpx.post(proxy_url + "/v1/chat/completions", json=_chat("x"), headers={"X-API-Key": "ak_test_rate_limited"})
    assert len(list(record.iterdir())) == 10
    assert main(["drift", str(record)]) == 0, capsys.readouterr().out
    assert "No drift: 10 cassette(s) agree with the contract." in capsys.readouterr().out


def test_drift_on_a_missing_or_broken_directory_is_a_usage_error(tmp_path: Path, capsys) -> None:
    assert main(["drift", str(tmp_path / "nowhere")]) == 2
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["drift", str(tmp_path)]) == 2
    assert "bad.json" in capsys.readouterr().err
