"""Issue 11: ``ainative_mock`` serves every client the code under test builds; no test reaches production.

The inner project runs with the network unavailable: its conftest makes every non-loopback name
lookup and connection fail and records each attempt, and every test ends by checking that none was
made. The inner tests do no monkeypatching of their own: the application module builds its own
clients exactly as an application would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable

import pytest

Runner = Callable[..., pytest.RunResult]

OFFLINE_CONFTEST = '''
import errno
import ipaddress
import socket

import pytest

ATTEMPTS = []
"""Every lookup or connection that tried to leave the machine."""


def loopback(host):
    host = (host.decode() if isinstance(host, bytes) else str(host)).strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect


def offline_getaddrinfo(host, *args, **kwargs):
    if host is not None and not loopback(host):
        ATTEMPTS.append(("resolve", host))
        raise socket.gaierror(socket.EAI_NONAME, "network unavailable in this test run")
    return _getaddrinfo(host, *args, **kwargs)


def offline_connect(sock, address):
    if isinstance(address, tuple) and not loopback(address[0]):
        ATTEMPTS.append(("connect", address))
        raise OSError(errno.ENETUNREACH, "network unavailable in this test run")
    return _connect(sock, address)


socket.getaddrinfo = offline_getaddrinfo
socket.socket.connect = offline_connect


@pytest.fixture(autouse=True)
def nothing_left_the_machine():
    ATTEMPTS.clear()
    yield
    assert ATTEMPTS == [], f"tried to reach the network: {ATTEMPTS}"
'''

APP = '''
"""The application under test: it builds its own clients, configured by the environment."""

import os

import ainative
import ainative_openai
import httpx
import httpx2
import openai
from ainative_agent import AINativeClient as AgentClient
from ainative_agent.types import ChatRequest

MESSAGES = [{"role": "user", "content": "Count to 5"}]
CHAT = "/chat/completions"


def text(completion):
    return completion.choices[0].message.content


def joined(chunks):
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


async def ajoined(chunks):
    return "".join([chunk.choices[0].delta.content or "" async for chunk in chunks if chunk.choices])


def sse_text(lines):
    import json

    parts = []
    for line in lines:
        if line.startswith("data: {"):
            parts.append(json.loads(line[6:])["choices"][0]["delta"].get("content") or "")
    return "".join(parts)


# openai: OPENAI_BASE_URL, OPENAI_API_KEY
def openai_plain():
    with openai.OpenAI(max_retries=0) as client:
        return text(client.chat.completions.create(model="gpt-4o", messages=MESSAGES))


def openai_streamed():
    with openai.OpenAI(max_retries=0) as client:
        return joined(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))


async def openai_async_plain():
    async with openai.AsyncOpenAI(max_retries=0) as client:
        return text(await client.chat.completions.create(model="gpt-4o", messages=MESSAGES))


async def openai_async_streamed():
    async with openai.AsyncOpenAI(max_retries=0) as client:
        return await ajoined(await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))


# ainative-openai: AINATIVE_BASE_URL, AINATIVE_API_KEY
def ainative_openai_plain():
    return text(ainative_openai.OpenAI(max_retries=0).chat.completions.create(model="gpt-4o", messages=MESSAGES))


def ainative_openai_streamed():
    client = ainative_openai.OpenAI(max_retries=0)
    return joined(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))


async def ainative_openai_async_plain():
    client = ainative_openai.AsyncOpenAI(max_retries=0)
    return text(await client.chat.completions.create(model="gpt-4o", messages=MESSAGES))


async def ainative_openai_async_streamed():
    client = ainative_openai.AsyncOpenAI(max_retries=0)
    return await ajoined(await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))


# ainative-agent (async only): its default base URL is production; the key is passed
async def agent_plain():
    client = AgentClient(api_key=os.environ["AINATIVE_API_KEY"])
    try:
        response = await client.chat.complete(ChatRequest(messages=MESSAGES, model="gpt-4o"))
    finally:
        await client.close()
    return response.choices[0].message["content"]


async def agent_streamed():
    client = AgentClient(api_key=os.environ["AINATIVE_API_KEY"])
    try:
        chunks = client.chat.stream(ChatRequest(messages=MESSAGES))
        parts = [chunk.choices[0]["delta"].get("content") or "" async for chunk in chunks]
    finally:
        await client.close()
    return "".join(parts)


# ainative-python (sync, no streaming API): AINATIVE_API_KEY; the base URL needs its trailing slash
def ainative_python_plain():
    client = ainative.AINativeClient(base_url=os.environ["AINATIVE_BASE_URL"] + "/")
    return client.request("POST", "chat/completions", data={"messages": MESSAGES})["choices"][0]["message"]["content"]


# plain httpx and httpx2, against the production URL hard-coded
PROD = "https://api.ainative.studio/api/v1"


def headers():
    return {"X-API-Key": os.environ["AINATIVE_API_KEY"]}


def http_plain(http):
    response = http.post(PROD + CHAT, headers=headers(), json={"messages": MESSAGES})
    return response.json()["choices"][0]["message"]["content"]


def http_streamed(http):
    with http.stream("POST", PROD + CHAT, headers=headers(), json={"messages": MESSAGES, "stream": True}) as response:
        return sse_text(response.iter_lines())


async def http_async_plain(http):
    async with http.AsyncClient(base_url=PROD) as client:
        response = await client.post(CHAT, headers=headers(), json={"messages": MESSAGES})
    return response.json()["choices"][0]["message"]["content"]


async def http_async_streamed(http):
    async with http.AsyncClient(base_url=PROD) as client:
        body = {"messages": MESSAGES, "stream": True}
        async with client.stream("POST", CHAT, headers=headers(), json=body) as response:
            return sse_text([line async for line in response.aiter_lines()])
'''

CLIENT_MODULE = """
import asyncio

import app

EXPECTED = "1, 2, 3, 4, 5"


def check_journal(mock, path, stream):
    entry = mock.last_request
    assert (entry.method, entry.path, entry.status, entry.stream) == ("POST", path, 200, stream)
    assert mock.count() == 1
"""


def client_tests(*functions: str) -> str:
    """An inner test module calling each of ``app``'s client functions once (``*_streamed`` ones stream)."""
    return (
        CLIENT_MODULE
        + f"""
import pytest


@pytest.mark.parametrize("function", {list(functions)!r})
def test_client(ainative_mock, function):
    result = getattr(app, function)()
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    assert result == EXPECTED
    check_journal(ainative_mock, "/api/v1/chat/completions", function.endswith("streamed"))
"""
    )


def sync_and_async(prefix: str) -> tuple[str, ...]:
    """A client's four calls: sync and async, plain and streamed."""
    return tuple(f"{prefix}_{kind}" for kind in ("plain", "streamed", "async_plain", "async_streamed"))


HTTP_TESTS = (
    CLIENT_MODULE
    + """
import pytest
import {lib}


def test_sync_plain(ainative_mock):
    assert app.http_plain({lib}) == EXPECTED
    check_journal(ainative_mock, "/api/v1/chat/completions", False)


def test_sync_streamed(ainative_mock):
    assert app.http_streamed({lib}) == EXPECTED
    check_journal(ainative_mock, "/api/v1/chat/completions", True)


def test_async_plain(ainative_mock):
    assert asyncio.run(app.http_async_plain({lib})) == EXPECTED
    check_journal(ainative_mock, "/api/v1/chat/completions", False)


def test_async_streamed(ainative_mock):
    assert asyncio.run(app.http_async_streamed({lib})) == EXPECTED
    check_journal(ainative_mock, "/api/v1/chat/completions", True)


@pytest.mark.ainative_mock(queued_faults=[{{"fault": "disconnect", "after_chunks": 2}}])
def test_dropped_stream_reads_as_a_connection_error(ainative_mock):
    received = []
    with pytest.raises({lib}.RemoteProtocolError):
        body = {{"messages": app.MESSAGES, "stream": True}}
        with {lib}.stream("POST", app.PROD + app.CHAT, headers=app.headers(), json=body) as response:
            for part in response.iter_raw():
                received.append(part)
    assert b"".join(received).count(b"data: ") == 2  # the events before the cut arrived, whole
    assert ainative_mock.last_request.chunks_sent == 2
"""
)


def write_project(inner: pytest.Pytester) -> None:
    inner.makeconftest(OFFLINE_CONFTEST)
    inner.makepyfile(
        app=APP,
        test_openai=client_tests(*sync_and_async("openai")),
        test_ainative_openai=client_tests(*sync_and_async("ainative_openai")),
        test_ainative_agent=client_tests("agent_plain", "agent_streamed"),  # async only
        test_ainative_python=client_tests("ainative_python_plain"),  # sync, no streaming
        test_httpx=HTTP_TESTS.format(lib="httpx"),
        test_httpx2=HTTP_TESTS.format(lib="httpx2"),
    )


def test_every_client_the_code_builds_is_served_offline(inner: pytest.Pytester, run: Runner) -> None:
    write_project(inner)
    result = run("-v")
    result.assert_outcomes(passed=4 + 4 + 2 + 1 + 5 + 5)


SSE_BOUNDARIES = """
import httpx
import pytest


@pytest.mark.ainative_mock(ttft_ms=1, tokens_per_second=1000)
def test_each_event_arrives_as_its_own_chunk(ainative_mock):
    body = {"messages": [{"role": "user", "content": "Count to 5"}], "stream": True}
    with httpx.stream("POST", "https://api.ainative.studio/api/v1/chat/completions", headers=ainative_mock.headers,
                      json=body) as response:
        chunks = list(response.iter_raw())
    assert len(chunks) >= 7
    assert all(chunk.startswith(b"data: ") and chunk.endswith(b"\\n\\n") and chunk.count(b"data: ") == 1
               for chunk in chunks)
    assert chunks[-1] == b"data: [DONE]\\n\\n"
"""


def test_stream_keeps_event_boundaries(inner: pytest.Pytester, run: Runner) -> None:
    inner.makeconftest(OFFLINE_CONFTEST)
    inner.makepyfile(test_boundaries=SSE_BOUNDARIES)
    run().assert_outcomes(passed=1)


PRODUCTION = """
import asyncio
import socket
import time
import urllib.request

import aiohttp
import openai
import pytest
import requests
import urllib3

from mockserver.netguard import LiveCallBlockedError

PROD = "https://api.ainative.studio"
CHAT = "/v1/public/chat/completions"
BODY = {"messages": [{"role": "user", "content": "Hi"}]}


def test_default_openai_client_for_production_is_served_in_process(ainative_mock):
    client = openai.OpenAI(base_url=PROD + "/api/v1", max_retries=0)  # key: OPENAI_API_KEY, set by the fixture
    completion = client.chat.completions.create(model="gpt-4o", messages=BODY["messages"])
    assert completion.choices[0].message.content
    assert ainative_mock.last_request.path == "/api/v1/chat/completions"


def raw_connect(address):
    with socket.socket() as sock:
        sock.connect(address)


def blocked(call, fixture):
    started = time.monotonic()
    with pytest.raises(LiveCallBlockedError) as error:
        call()
    assert time.monotonic() - started < 1
    message = str(error.value)
    assert "api.ainative.studio is an AINative production host" in message
    assert f"a test using {fixture} never contacts it" in message
    assert "ainative_server" in message
    assert "--ainative-allow-live" in message
    return message


def test_requests_to_production_fails_at_once_with_the_explanation(ainative_mock):
    message = blocked(lambda: requests.post(PROD + CHAT, json=BODY, timeout=30), "ainative_mock")
    assert "Serve it with the ainative_server fixture" in message
    assert ainative_mock.requests == []


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: urllib3.PoolManager().request("GET", PROD + "/health"), id="urllib3"),
        pytest.param(lambda: urllib.request.urlopen(PROD + "/health", timeout=30), id="urllib"),
        pytest.param(lambda: socket.create_connection(("api.ainative.studio", 443), timeout=30), id="connection"),
        pytest.param(lambda: raw_connect(("api.ainative.studio", 443)), id="raw-socket-connect"),
        pytest.param(lambda: socket.gethostbyname("api.ainative.studio"), id="gethostbyname"),
    ],
)
def test_every_library_is_stopped(ainative_mock, call):
    blocked(call, "ainative_mock")


def test_aiohttp_is_stopped(ainative_mock):
    async def call():
        async with aiohttp.ClientSession() as session:
            async with session.post(PROD + "/v1/public/chat/completions", json=BODY) as response:
                return response.status

    blocked(lambda: asyncio.run(call()), "ainative_mock")


def test_staging_is_guarded_too(ainative_mock):
    with pytest.raises(LiveCallBlockedError, match="staging-api.ainative.studio is an AINative production host"):
        requests.get("https://staging-api.ainative.studio/health", timeout=30)


def test_served_mock_reaches_openai_through_the_variables(ainative_server):
    ainative_server.reply("from the served mock")
    with openai.OpenAI(max_retries=0) as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=BODY["messages"])
    assert completion.choices[0].message.content == "from the served mock"
    assert ainative_server.last_request.path == "/api/v1/chat/completions"


def test_hard_coded_production_requests_fail_under_ainative_server(ainative_server):
    message = blocked(lambda: requests.post(PROD + CHAT, json=BODY, timeout=30), "ainative_server")
    assert "ainative_server.base_url" in message and "$AINATIVE_BASE_URL" in message


def test_no_guard_outside_the_kit_fixtures():
    with pytest.raises(socket.gaierror, match="network unavailable"):  # the conftest's offline resolver
        socket.getaddrinfo("api.ainative.studio", 443)


@pytest.fixture(autouse=True)
def forget_the_unguarded_attempt(request):
    from conftest import ATTEMPTS

    yield
    if request.node.name == "test_no_guard_outside_the_kit_fixtures":
        assert ATTEMPTS == [("resolve", "api.ainative.studio")]
        ATTEMPTS.clear()
"""


def test_production_hosts_are_served_or_refused_never_contacted(inner: pytest.Pytester, run: Runner) -> None:
    inner.makeconftest(OFFLINE_CONFTEST)
    inner.makepyfile(test_production=PRODUCTION)
    result = run("-v")
    result.assert_outcomes(passed=12)


def test_the_same_holds_in_a_network_namespace_without_a_network(inner: pytest.Pytester) -> None:
    # A user namespace with its own network namespace: only a loopback interface, no route anywhere.
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None:
        pytest.fail("this test needs unshare (util-linux) and ip (iproute2) to run pytest without a network")
    inner.makeconftest(OFFLINE_CONFTEST)
    inner.makepyfile(test_production=PRODUCTION)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AINATIVE_", "OPENAI_"))}
    pytest_command = f"{sys.executable} -m pytest -p no:cacheprovider -p no:hypothesispytest -p no:schemathesis -q"
    result = subprocess.run(
        [unshare, "--user", "--map-root-user", "--net", "sh", "-c", f"{ip} link set lo up && {pytest_command}"],
        cwd=inner.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 passed" in result.stdout


STAND_IN = """
import http.server
import threading

import pytest
import requests

from mockserver.netguard import resolve


class StandIn(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"served_by": "stand-in"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("fixture", ["ainative_mock", "ainative_server"])
def test_live_call_to_production(request, fixture, stand_in):
    request.getfixturevalue(fixture)
    with resolve("api.ainative.studio", "127.0.0.1"):  # the real host is never contacted
        response = requests.post(
            f"http://api.ainative.studio:{stand_in}/v1/public/chat/completions", json={"messages": []}, timeout=30
        )
    assert response.json() == {"served_by": "stand-in"}
"""


def test_allow_live_lets_production_calls_through(inner: pytest.Pytester, run: Runner) -> None:
    inner.makeconftest(OFFLINE_CONFTEST)
    inner.makepyfile(test_live=STAND_IN)
    refused = run()
    refused.assert_outcomes(failed=2)
    refused.stdout.fnmatch_lines(
        ["E *netguard.LiveCallBlockedError: api.ainative.studio is an AINative production host*"] * 2
    )
    allowed = run("--ainative-allow-live")
    allowed.assert_outcomes(passed=2)
    conformance_target = run("--ainative-base-url", "http://api.ainative.studio")  # the suite's target passes
    conformance_target.assert_outcomes(passed=2)


OTHER_HOSTS = """
import http.server
import threading

import httpx
import pytest


class Local(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Local)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_other_hosts_pass_through_by_default(ainative_mock, local_url):
    assert httpx.get(local_url).status_code == 204
    assert ainative_mock.requests == []


@pytest.mark.ainative_mock(pass_through=False)
def test_other_hosts_fail_when_pass_through_is_off(ainative_mock, local_url):
    with pytest.raises(httpx.ConnectError, match="the AINative mock refused GET http://127.0.0.1"):
        httpx.get(local_url)
    assert httpx.get("https://api.ainative.studio/health").status_code == 200
"""


def test_other_hosts_pass_through_unless_refused(inner: pytest.Pytester, run: Runner) -> None:
    inner.makeconftest(OFFLINE_CONFTEST)
    inner.makepyfile(test_other=OTHER_HOSTS)
    result = run("-v")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_other_hosts_fail_when_pass_through_is_off*",
            "E *UnexpectedRequestsError: the AINative mock refused 1 request(s) for hosts it does not serve:",
            "E *  GET http://127.0.0.1:*/",
            "E *(allow them with @pytest.mark.ainative_mock(pass_through=True))",
        ]
    )
