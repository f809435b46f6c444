"""The proxy and replay on awkward input: split line ends, bad upstream URLs, clients that leave, near misses."""

from __future__ import annotations

import argparse
import asyncio
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver import proxy as proxy_module
from mockserver.cassettes import Cassette, CassetteRequest, CassetteResponse, cassette_name, load_cassettes
from mockserver.proxy import ValidationProxy, _Decoder, _EventClock, upstream_problem
from mockserver.replay import Replayer


def test_event_clock_keeps_a_crlf_split_between_chunks_inside_one_event() -> None:
    clock = _EventClock(0.0)
    stream = b'data: {"a":1}\r\ndata: {"b":2}\r\n\r\ndata: [DONE]\r\n\r\n'
    cut = stream.index(b"\r\ndata: {") + 1  # the first chunk ends between "\r" and "\n"
    clock.feed(stream[:cut], 0.1)
    clock.feed(stream[cut:], 0.2)
    assert [e.data for e in clock.events] == ['{"a":1}\n{"b":2}', "[DONE]"]
    assert [round(e.delay_ms) for e in clock.events] == [200, 0]


def test_event_clock_keeps_names_and_skips_comments() -> None:
    clock = _EventClock(0.0)
    clock.feed(b": keep-alive\n\nevent: error\ndata: {", 0.05)
    clock.feed(b'"x":1}\n\n', 0.15)
    assert [(e.event, e.data, round(e.delay_ms)) for e in clock.events] == [("error", '{"x":1}', 150)]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("127.0.0.1:8000", "must start with http:// or https://"),
        ("http://127.0.0.1:abc", "is not a URL"),
        ("http://", "names no host"),
        ("http://127.0.0.1:8000/?key=1", "no query"),
    ],
)
def test_a_bad_upstream_url_is_refused_up_front(url: str, says: str, capsys) -> None:
    problem = upstream_problem(url)
    assert problem is not None and says in problem
    with pytest.raises(ValueError, match="upstream"):
        ValidationProxy(url)
    args = argparse.Namespace(upstream=url)
    assert proxy_module.run_command(args) == 2  # before binding anything
    assert says in capsys.readouterr().err


def test_a_good_upstream_url_passes() -> None:
    assert upstream_problem("https://api.example.test/api") is None
    assert upstream_problem("http://[::1]:8000") is None


@pytest.mark.socket
def test_a_client_that_leaves_mid_body_sends_nothing_upstream(upstream) -> None:
    app, direct_url = upstream
    proxy = ValidationProxy(direct_url, pool=False)
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"model": "upstream-model", "mess', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
        "query_string": b"", "headers": [(b"content-type", b"application/json")],
    }  # fmt: skip
    asyncio.run(proxy(scope, receive, send))
    assert app.received == []  # a truncated request never reaches the (billing) upstream
    assert sent == []
    assert httpx.get(direct_url + "/v1/models").status_code in (200, 401)  # the upstream is up: it was not asked


def _cassette(content: str, name: str) -> Cassette:
    body = {"model": "m", "messages": [{"role": "user", "content": content}]}
    request = CassetteRequest("POST", "/v1/chat/completions", body)
    return Cassette(request, CassetteResponse(200, {}, b"{}"), Path(name))


def test_strict_miss_names_the_most_alike_cassette_among_ties() -> None:
    # both differ from the request in one key (messages); the second is one letter away
    replayer = Replayer([_cassette("err something else", "a.json"), _cassette("Hello there", "b.json")])
    sent = {"model": "m", "messages": [{"role": "user", "content": "Hello therf"}]}
    miss = replayer.miss("POST", "/v1/chat/completions", sent)
    assert miss.nearest is not None and miss.nearest.path is not None
    assert miss.nearest.path.name == "b.json"
    assert (miss.field, miss.recorded, miss.sent) == ("messages[0].content", "Hello there", "Hello therf")


def test_strict_miss_still_prefers_fewer_differing_keys() -> None:
    same_text_two_keys_off = Cassette(
        CassetteRequest(
            "POST", "/v1/chat/completions",
            {"model": "x", "messages": [{"role": "user", "content": "Hi"}], "stream": True},
        ),
        CassetteResponse(200, {}, b"{}"),
    )  # fmt: skip
    one_key_off = _cassette("completely different words", "one-key-off.json")
    replayer = Replayer([same_text_two_keys_off, one_key_off])
    miss = replayer.miss(
        "POST", "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    )
    assert miss.nearest is one_key_off and miss.field == "messages[0].content"


@pytest.mark.socket
def test_shutdown_with_a_stream_in_flight_ends_it_quietly(upstream, caplog) -> None:
    app, direct_url = upstream
    app.pace_s = 5.0  # the second event is far away
    proxy = ValidationProxy(direct_url, pool=False)
    body = b'{"model": "upstream-model", "messages": [{"role": "user", "content": "hi"}], "stream": true}'
    sent: list[dict[str, Any]] = []
    first_event = asyncio.Event()

    async def main() -> None:
        arrived = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if arrived:
                return arrived.pop(0)
            await asyncio.Event().wait()  # the client stays
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message.get("body"):
                first_event.set()

        scope = {
            "type": "http", "method": "POST", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
            "query_string": b"", "headers": [(b"content-type", b"application/json"), (b"x-api-key", b"sk_k_12345")],
        }  # fmt: skip
        task = asyncio.create_task(proxy(scope, receive, send))
        await asyncio.wait_for(first_event.wait(), 10)
        task.cancel()  # what uvicorn does to requests still running when its graceful shutdown times out
        await asyncio.wait_for(task, 10)  # returns: no CancelledError escapes to be logged as a traceback

    with caplog.at_level("WARNING", logger="mockserver.proxy"):
        asyncio.run(main())
    assert "shut down with POST /v1/chat/completions in flight" in caplog.text
    assert proxy.report.exchanges == 0 and proxy.recorded == []


def test_drift_counts_same_named_cassettes_in_two_folders_twice(tmp_path) -> None:
    from mockserver.drift import find_drift

    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    answer = b'{"id": "x", "surprise": 1}'  # off the contract twice
    for folder in ("monday", "tuesday"):
        Cassette(CassetteRequest("POST", "/v1/chat/completions", body), CassetteResponse(201, {}, answer)).write(
            tmp_path / folder
        )
    loaded = load_cassettes(tmp_path)
    assert len(loaded) == 2 and loaded[0].path.name == loaded[1].path.name  # type: ignore[union-attr]
    report = find_drift(loaded)
    status = [f for f in report.findings.values() if f.group.startswith("status ")]
    assert [f.count for f in status] == [2]


def test_concurrent_writers_of_one_cassette_never_fail(tmp_path) -> None:
    import threading

    cassette = Cassette(
        CassetteRequest("POST", "/v1/chat/completions", {"model": "m"}), CassetteResponse(200, {}, b"{}")
    )
    errors: list[BaseException] = []

    def write() -> None:
        for _ in range(100):
            try:
                cassette.write(tmp_path)
            except OSError as exc:  # another writer's rename took the shared temporary file away
                errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [p.name for p in tmp_path.iterdir()] == [cassette_name(cassette.request)]  # no temporary file left


def test_a_password_in_the_upstream_url_never_reaches_a_report_or_message() -> None:
    proxy = ValidationProxy("https://user:hunter2-pass@upstream.example.test/api")
    assert proxy.upstream == "https://user:hunter2-pass@upstream.example.test/api"  # still used to connect
    assert proxy.report.to_dict()["upstream"] == "https://user:[SCRUBBED]@upstream.example.test/api"
    assert "hunter2" not in proxy_module.to_junit_xml(proxy.report.to_report())
    problem = upstream_problem("http://user:hunter2-pass@127.0.0.1:abc")
    assert problem is not None and "hunter2" not in problem and "is not a URL" in problem


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib-deflate", "raw-deflate"])
def test_deflate_answers_are_decoded_for_judging_with_or_without_the_zlib_header(wbits: int) -> None:
    text = b'{"object": "list", "data": []}' * 50
    packer = zlib.compressobj(wbits=wbits)
    packed = packer.compress(text) + packer.flush()
    decoder = _Decoder("deflate")
    out = b"".join(decoder.feed(packed[i : i + 7]) for i in range(0, len(packed), 7))
    assert decoder.ok and out == text


def test_a_broken_gzip_body_is_not_judged() -> None:
    decoder = _Decoder("gzip")
    assert decoder.feed(b"not gzip at all") == b"" and not decoder.ok


@pytest.mark.socket
def test_judging_runs_off_the_event_loop(upstream, start_proxy, monkeypatch, tmp_path) -> None:
    """Judging a long answer takes a while (JSON Schema in pure Python): it must not freeze other exchanges."""
    judged_on_loop: list[bool] = []
    real_judge = proxy_module.judge_exchange

    def judge(*args: Any) -> Any:
        try:
            asyncio.get_running_loop()
            judged_on_loop.append(True)
        except RuntimeError:
            judged_on_loop.append(False)
        return real_judge(*args)

    monkeypatch.setattr(proxy_module, "judge_exchange", judge)
    _, direct_url = upstream
    proxy, proxy_url = start_proxy(direct_url, record=tmp_path / "cassettes")
    body = {"model": "upstream-model", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"X-API-Key": "sk_live_judge_thread_1"}
    assert httpx.post(proxy_url + "/v1/chat/completions", json=body, headers=headers).status_code == 200
    streamed = httpx.post(proxy_url + "/v1/chat/completions", json={**body, "stream": True}, headers=headers)
    assert streamed.text.endswith("data: [DONE]\n\n")
    assert judged_on_loop == [False, False]
    assert proxy.report.exchanges == 2 and len(proxy.recorded) == 2


def test_unwritable_outputs_are_refused_before_serving(tmp_path, capsys) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = [
        ({"record": a_file / "cassettes"}, "--record"),  # under a file: cannot be created
        ({"report": tmp_path / "missing" / "r.json"}, "does not exist"),
        ({"report": tmp_path}, "is a directory"),
    ]
    for options, says in cases:
        assert proxy_module.serve_proxy("http://127.0.0.1:9", port=0, **options) == 1  # returns: never served
        assert says in capsys.readouterr().err
    assert proxy_module.outputs_problem(tmp_path / "new" / "cassettes", tmp_path / "r.xml") is None
    assert (tmp_path / "new" / "cassettes").is_dir()


@pytest.mark.socket
def test_the_log_says_when_an_exchange_replaces_one_recorded_earlier(upstream, start_proxy, tmp_path, caplog) -> None:
    caplog.set_level("INFO", logger="mockserver.proxy")
    _, direct_url = upstream
    _, proxy_url = start_proxy(direct_url, record=tmp_path / "cassettes")
    body = {"model": "upstream-model", "messages": [{"role": "user", "content": "same question"}]}
    for key in ("sk_live_first_caller_1", "sk_live_other_caller_2"):  # the key is not a match key: one cassette
        assert httpx.post(proxy_url + "/v1/chat/completions", json=body, headers={"X-API-Key": key}).status_code == 200
    lines = [r.getMessage() for r in caplog.records if "-> 200" in r.getMessage()]
    assert len(lines) == 2 and "replacing" not in lines[0]
    assert "recorded post-v1-chat-completions-" in lines[1] and "replacing this session's earlier exchange" in lines[1]
    assert len(list((tmp_path / "cassettes").iterdir())) == 1


def test_a_long_session_keeps_a_bounded_report_with_exact_counts() -> None:
    from mockserver.proxy import LISTED_PER_CLAUSE, ProxyReport, Violation

    report = ProxyReport("http://upstream.test")
    noisy = Violation("chat.usage-sum", "POST", "/v1/chat/completions", 200, "req_1", "total off by one")
    rare = Violation("stream.grammar", "POST", "/v1/chat/completions", 200, "req_2", "two finish reasons")
    report.add([noisy] * (LISTED_PER_CLAUSE + 150))
    report.add([rare])
    document = report.to_dict()
    assert document["count"] == LISTED_PER_CLAUSE + 151
    assert document["by_clause"] == {"chat.usage-sum": LISTED_PER_CLAUSE + 150, "stream.grammar": 1}
    assert len(document["violations"]) == LISTED_PER_CLAUSE + 1  # the rare clause is still listed
    assert document["unlisted"] == 150
    results = {r.id: r for r in report.to_report().results}
    assert results["chat.usage-sum"].status == "failed"
    assert results["chat.usage-sum"].evidence.startswith(f"{LISTED_PER_CLAUSE + 150} violation(s)")
    assert results["chat.usage-sum"].evidence.endswith("... and 150 more")
    assert results["stream.grammar"].status == "failed"


def test_a_bad_upstream_env_names_the_variable_when_recording(tmp_path, monkeypatch) -> None:
    from mockserver.cassettes import CassetteError
    from mockserver.recording import UPSTREAM_ENV, Recorder

    monkeypatch.setenv(UPSTREAM_ENV, "http://127.0.0.1:abc")
    says = f"recording cassette .*: {UPSTREAM_ENV} 'http://127.0.0.1:abc' is not a URL"
    with pytest.raises(CassetteError, match=says):
        Recorder(tmp_path / "hello")


def test_serving_an_empty_cassette_directory_warns(tmp_path, capsys) -> None:
    import socket

    from mockserver.cli import main

    with socket.socket() as busy:  # the port is taken: serve stops right after its checks
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        status = main(["serve", "--port", str(busy.getsockname()[1]), "--cassettes", str(tmp_path)])
    assert status != 0
    assert f"warning: no cassette (*.json) in {tmp_path}" in capsys.readouterr().err
