"""The fixtures serve the clients users have: httpx (sync and async), the openai SDK, requests, a subprocess."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Runner = Callable[..., pytest.RunResult]
CLIENTS = '''
import asyncio
import os
import subprocess
import sys

import httpx
import openai
import requests

import mockserver.pytest_plugin

PROD = "https://api.ainative.studio"
CHAT = "/v1/public/chat/completions"
MESSAGES = [{"role": "user", "content": "Hello there"}]
CHILD = """
import json, os, urllib.request
request = urllib.request.Request(
    os.environ["AINATIVE_BASE_URL"] + "/chat/completions",
    data=json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode(),
    headers={"X-API-Key": os.environ["AINATIVE_API_KEY"], "Content-Type": "application/json"},
)
with urllib.request.urlopen(request, timeout=20) as response:
    print(json.load(response)["choices"][0]["message"]["content"])
"""


def test_plugin_is_registered_under_its_entry_point_name(pytestconfig):
    assert pytestconfig.pluginmanager.get_plugin("ainative_mock") is mockserver.pytest_plugin


def content(response):
    return response.json()["choices"][0]["message"]["content"]


def test_module_level_httpx_post_to_production_url_is_served(ainative_mock):
    ainative_mock.reply("Hi from the mock")
    response = httpx.post(PROD + CHAT, headers=ainative_mock.headers, json={"messages": MESSAGES})
    assert response.status_code == 200
    assert content(response) == "Hi from the mock"
    assert response.headers["x-request-id"]
    entry = ainative_mock.last_request
    assert (entry.method, entry.path, entry.status, entry.body) == ("POST", CHAT, 200, {"messages": MESSAGES})


def test_async_httpx_client_is_served(ainative_mock):
    ainative_mock.reply("async hi")

    async def call():
        async with httpx.AsyncClient(base_url=PROD) as client:
            return await client.post(CHAT, headers=ainative_mock.headers, json={"messages": MESSAGES})

    response = asyncio.run(call())
    assert (response.status_code, content(response)) == (200, "async hi")
    assert ainative_mock.count(path=CHAT, status=200) == 1


def test_ready_made_httpx_clients(ainative_mock):
    ainative_mock.reply("sync client")
    ainative_mock.reply("async client")
    sync = ainative_mock.httpx_client(headers=ainative_mock.headers)
    assert content(sync.post(CHAT, json={"messages": MESSAGES})) == "sync client"

    async def call():
        async with ainative_mock.async_httpx_client(headers=ainative_mock.headers) as client:
            return await client.post(CHAT, json={"messages": MESSAGES})

    assert content(asyncio.run(call())) == "async client"


def test_openai_sdk_sync_and_streaming(ainative_mock):
    client = ainative_mock.openai_client(max_retries=0)
    ainative_mock.reply("one two three")
    ainative_mock.reply("one two three")
    completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert completion.choices[0].message.content == "one two three"
    assert completion.usage.total_tokens > 0
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert len({c.id for c in chunks}) == 1
    assert ainative_mock.count(path="/api/v1/chat/completions", model="gpt-4o", status=200) == 2
    assert ainative_mock.last_request.stream is True


def test_openai_sdk_maps_mock_errors_to_its_exceptions(ainative_mock):
    ainative_mock.fail_next(500)
    client = ainative_mock.openai_client(max_retries=0)
    try:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    except openai.InternalServerError as exc:
        assert exc.status_code == 500
    else:
        raise AssertionError("no InternalServerError")


def test_openai_sdk_async_and_streaming(ainative_mock):
    ainative_mock.reply("async sdk")
    ainative_mock.reply("async stream")

    async def call():
        async with ainative_mock.async_openai_client(max_retries=0) as client:
            completion = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return completion.choices[0].message.content, "".join(parts)

    assert asyncio.run(call()) == ("async sdk", "async stream")


def test_requests_against_the_served_mock(ainative_server):
    assert ainative_server.base_url.startswith("http://127.0.0.1:")
    ainative_server.reply("over a socket")
    response = requests.post(
        ainative_server.base_url + CHAT, headers=ainative_server.headers, json={"messages": MESSAGES}, timeout=20
    )
    assert (response.status_code, content(response)) == (200, "over a socket")
    balance = requests.get(
        os.environ["AINATIVE_BASE_URL"] + "/public/credits/balance", headers=ainative_server.headers, timeout=20
    )
    assert balance.status_code == 200
    assert balance.json() == ainative_server.balance()


def test_default_openai_client_configured_by_the_environment(ainative_server):
    ainative_server.reply("from env")
    ainative_server.reply("streamed from env")
    with openai.OpenAI(max_retries=0) as client:  # OPENAI_BASE_URL and OPENAI_API_KEY
        completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert completion.choices[0].message.content == "from env"
        assert ainative_server.last_request.path == "/api/v1/chat/completions"
        stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "streamed from env"


def test_subprocess_reads_the_server_from_the_environment(ainative_server):
    assert os.environ["AINATIVE_BASE_URL"] == ainative_server.base_url + "/api/v1"
    assert os.environ["AINATIVE_API_KEY"] == ainative_server.api_key
    assert os.environ["OPENAI_BASE_URL"] == os.environ["AINATIVE_BASE_URL"]
    assert os.environ["OPENAI_API_KEY"] == ainative_server.api_key
    ainative_server.reply("hello child")
    child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "hello child"
    assert ainative_server.last_request.path == "/api/v1/chat/completions"


def test_environment_is_restored_after_a_server_test():
    assert os.environ.get("AINATIVE_API_KEY") == "key-from-outside"
    for name in ("AINATIVE_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        assert name not in os.environ, name
'''


def test_clients_reach_both_fixtures(inner: pytest.Pytester, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINATIVE_API_KEY", "key-from-outside")
    inner.makepyfile(test_clients=CLIENTS)
    result = run("-v", lean=False)  # every installed plugin, as users run it
    result.assert_outcomes(passed=11)
    result.stdout.fnmatch_lines(["plugins: *ainative-contract-kit-*"])
