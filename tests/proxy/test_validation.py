"""The proxy judges every exchange with the clauses of ``check``, and never alters the traffic."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.socket

KEY = "sk_live_validation_key_0001"
CHAT = "/v1/chat/completions"


def _chat(stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {"model": "upstream-model", "messages": [{"role": "user", "content": "hello"}], "stream": stream, **extra}


def _violations(proxy_url: str) -> dict[str, Any]:
    return httpx.get(proxy_url + "/_proxy/violations").json()


def test_clean_traffic_has_no_violation(upstream, start_proxy) -> None:
    _, direct_url = upstream
    _, proxy_url = start_proxy(direct_url)
    auth = {"X-API-Key": KEY}
    httpx.post(proxy_url + CHAT, json=_chat(), headers=auth)
    httpx.post(proxy_url + CHAT, json=_chat(True, stream_options={"include_usage": True}), headers=auth)
    httpx.get(proxy_url + "/api/v1/public/credits/balance", headers=auth)
    httpx.get(proxy_url + "/v1/models", headers=auth)
    httpx.post(proxy_url + CHAT, json=_chat(model="limited"), headers=auth)  # 429 with Retry-After
    httpx.post(proxy_url + CHAT, json=_chat())  # 401
    document = _violations(proxy_url)
    assert document["count"] == 0, document["violations"]
    assert document["exchanges"] == 6


@pytest.mark.parametrize(
    ("defect", "request_body", "clause"),
    [
        ("usage-sum", _chat(), "chat.usage-sum"),
        ("usage-sum", _chat(True, stream_options={"include_usage": True}), "chat.usage-sum"),
        ("double-finish", _chat(True), "stream.grammar"),
        ("no-retry-after", _chat(model="limited"), "rate-limit.retry-after"),
    ],
)
def test_planted_defect_is_reported_with_its_clause_and_traffic_is_untouched(
    upstream, start_proxy, caplog, defect, request_body, clause
) -> None:
    app, direct_url = upstream
    app.defect = defect
    _, proxy_url = start_proxy(direct_url)
    direct = httpx.post(direct_url + CHAT, json=request_body, headers={"X-API-Key": KEY})
    with caplog.at_level("WARNING", logger="mockserver.proxy"):
        proxied = httpx.post(proxy_url + CHAT, json=request_body, headers={"X-API-Key": KEY})
    assert proxied.status_code == direct.status_code
    assert proxied.content.replace(b"_2", b"_1") == direct.content  # the defect reaches the client as sent
    document = _violations(proxy_url)
    assert [v["clause"] for v in document["violations"]] == [clause]
    violation = document["violations"][0]
    assert violation["request_id"] == proxied.headers["x-request-id"]
    assert violation["path"] == CHAT
    if not request_body["stream"]:
        assert proxied.headers["x-contract-violations"] == "1"
    lines = [r.getMessage() for r in caplog.records if "contract violation" in r.getMessage()]
    assert len(lines) == 1
    assert f"clause={clause}" in lines[0] and f"path=POST {CHAT}" in lines[0]
    assert f"request_id={violation['request_id']}" in lines[0]


def test_invalid_request_body_is_a_request_schema_violation(upstream, start_proxy) -> None:
    _, direct_url = upstream
    _, proxy_url = start_proxy(direct_url)
    bad = {"model": "upstream-model", "messages": [{"role": "user", "content": "x"}], "temperature": 7}
    response = httpx.post(proxy_url + CHAT, json=bad, headers={"X-API-Key": KEY})
    assert response.status_code == 200  # the upstream accepted it: the proxy does not interfere
    document = _violations(proxy_url)
    levels = sorted((v["clause"], v["level"]) for v in document["violations"])
    # the client broke the contract; the upstream accepting it is a warning (the contract is stricter)
    assert levels == [("fuzz.invalid-rejected", "warning"), ("request.schema", "failed")]
    assert (document["count"], document["warnings"]) == (1, 1)
    assert response.headers["x-contract-violations"] == "1"


def test_report_written_as_json_and_junit(upstream, start_proxy, tmp_path) -> None:
    app, direct_url = upstream
    app.defect = "usage-sum"
    proxy, proxy_url = start_proxy(direct_url)
    httpx.post(proxy_url + CHAT, json=_chat(), headers={"X-API-Key": KEY})
    proxy.report.write(tmp_path / "report.json")
    proxy.report.write(tmp_path / "report.xml")
    import json
    import xml.etree.ElementTree as ET

    data = json.loads((tmp_path / "report.json").read_text())
    assert data["by_clause"] == {"chat.usage-sum": 1}
    suite = ET.parse(tmp_path / "report.xml").getroot()
    assert suite.get("name") == "ainative-proxy" and suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["chat.usage-sum"]


def test_compressed_answers_pass_raw_and_are_judged_when_readable(upstream, start_proxy, tmp_path) -> None:
    app, direct_url = upstream
    app.defect, app.encoding = "usage-sum", "gzip"
    _, proxy_url = start_proxy(direct_url, record=tmp_path / "cassettes")
    headers = {"X-API-Key": KEY, "Accept-Encoding": "gzip"}
    with httpx.Client() as client:
        direct = client.post(direct_url + CHAT, json=_chat(), headers=headers)
        proxied = client.post(proxy_url + CHAT, json=_chat(), headers=headers)
    assert proxied.headers["content-encoding"] == "gzip"
    assert proxied.json()["usage"] == direct.json()["usage"]
    assert [v["clause"] for v in _violations(proxy_url)["violations"]] == ["chat.usage-sum"]
    assert len(list((tmp_path / "cassettes").iterdir())) == 1  # recorded decoded

    app.encoding = "br"  # not readable here: forwarded untouched, reported as not judged
    with (
        httpx.Client() as client,
        client.stream(
            "POST", proxy_url + CHAT, json=_chat(messages=[{"role": "user", "content": "other"}]), headers=headers
        ) as response,
    ):
        raw = b"".join(response.iter_raw())
    assert raw.startswith(b"\x8b\x0b\x80")
    document = _violations(proxy_url)
    assert document["unjudged"] == {"content-encoding 'br' cannot be decoded": 1}
    assert len(list((tmp_path / "cassettes").iterdir())) == 1
