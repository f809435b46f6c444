"""The cassette format: stable names, exact round trips, scrubbing, and clear errors for broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockserver.cassettes import (
    Cassette,
    CassetteError,
    CassetteRequest,
    CassetteResponse,
    RecordedEvent,
    Scrubber,
    cassette_name,
    load_cassettes,
)
from mockserver.replay import Replayer

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": False, "temperature": 0.2}


def test_name_is_a_stable_hash_of_the_match_keys_only() -> None:
    request = CassetteRequest("POST", "/v1/chat/completions", BODY)
    name = cassette_name(request)
    assert name == cassette_name(CassetteRequest("POST", "/v1/chat/completions", dict(reversed(BODY.items()))))
    assert name == cassette_name(CassetteRequest("POST", "/v1/chat/completions", {**BODY, "temperature": 1.5}))
    assert name != cassette_name(CassetteRequest("POST", "/v1/chat/completions", {**BODY, "model": "n"}))
    assert name != cassette_name(CassetteRequest("POST", "/api/v1/chat/completions", BODY))
    assert name.startswith("post-v1-chat-completions-") and len(name) == len("post-v1-chat-completions-") + 16 + 5


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":1,"b":"\xc3\xa9"}',  # compact
        b'{"a": 1, "b": "\xc3\xa9"}',  # spaced
        b'{"a":1,"b":"\\u00e9"}',  # compact-ascii
        b'{"a": 1, "b": "\\u00e9"}',  # spaced-ascii
        b'{"a" :1}',  # no style: kept as text
        b"plain text",
        b"\xff\xfe binary",
    ],
)
def test_json_bodies_round_trip_byte_for_byte(tmp_path: Path, body: bytes) -> None:
    cassette = Cassette(CassetteRequest("GET", "/v1/models"), CassetteResponse(200, {"content-type": "x"}, body))
    path = cassette.write(tmp_path)
    assert Cassette.load(path).response.body == body
    document = json.loads(path.read_text())
    assert "text" not in document["response"] or body in (b'{"a" :1}', b"plain text")


def test_events_round_trip_with_their_delays(tmp_path: Path) -> None:
    events = (
        RecordedEvent('{"id":"c","choices":[]}', 12.5),
        RecordedEvent('{"id": "spaced"}', 3.0),
        RecordedEvent("[DONE]", 1.25),
    )
    cassette = Cassette(CassetteRequest("POST", "/v1/chat/completions", BODY), CassetteResponse(200, {}, b"", events))
    path = cassette.write(tmp_path)
    document = json.loads(path.read_text())
    assert [sorted(e) for e in document["response"]["events"]] == [
        ["delay_ms", "json"],
        ["data", "delay_ms"],
        ["data", "delay_ms"],
    ]
    loaded = Cassette.load(path).response
    assert loaded.events == events
    assert loaded.stream_bytes() == b'data: {"id":"c","choices":[]}\n\ndata: {"id": "spaced"}\n\ndata: [DONE]\n\n'


def test_scrubber_removes_keys_jwts_bearer_literals_and_patterns() -> None:
    scrubber = Scrubber([r"ACCT-\d+"], literals=["my-own-token-value"])
    value = {
        "k": "sk_live_abcdef123456 and ak_test_rate_limited",
        "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "auth": "Bearer abc.def",
        "mine": "x my-own-token-value y",
        "ACCT-99": ["ACCT-12345"],
        "kept": "a task_force of 3",
    }
    assert scrubber.scrub_value(value) == {
        "k": "[SCRUBBED] and [SCRUBBED]",
        "jwt": "[SCRUBBED]",
        "auth": "[SCRUBBED]",
        "mine": "x [SCRUBBED] y",
        "[SCRUBBED]": ["[SCRUBBED]"],
        "kept": "a task_force of 3",
    }


def test_broken_cassettes_are_named(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"version": 2}))
    with pytest.raises(CassetteError, match=r"a\.json: version 2"):
        load_cassettes(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps({"version": 1, "request": {}}))
    with pytest.raises(CassetteError, match=r"a\.json: not a cassette"):
        load_cassettes(tmp_path)


def test_match_keys_are_configurable() -> None:
    cassette = Cassette(CassetteRequest("POST", "/v1/chat/completions", BODY), CassetteResponse(200, {}, b"{}"))
    other_prompt = {**BODY, "messages": [{"role": "user", "content": "something else"}]}
    assert Replayer([cassette]).find("POST", "/v1/chat/completions", other_prompt) is None
    assert Replayer([cassette], ("route", "model")).find("POST", "/v1/chat/completions", other_prompt) is cassette
    with_temperature = Replayer([cassette], ("route", "model", "messages", "temperature"))
    assert with_temperature.find("POST", "/v1/chat/completions", {**BODY, "temperature": 0.9}) is None
    miss = with_temperature.miss("POST", "/v1/chat/completions", {**BODY, "temperature": 0.9})
    assert (miss.field, miss.recorded, miss.sent) == ("temperature", 0.2, 0.9)
