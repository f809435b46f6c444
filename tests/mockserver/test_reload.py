"""Hot reload: ``serve --config FILE --watch`` applies a saved file; ledger, journal and open streams survive."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.app import AINativeMock
from mockserver.config import load_config
from mockserver.reload import ConfigReloader
from mockserver.server import ServerThread
from tests.mockserver.cli_process import ServeProcess

KEY = "ak_reload_test_1234"
HEADERS = {"X-API-Key": KEY}
CHAT = "/api/v1/chat/completions"


def ask(base_url: str, text: str, **fields: Any) -> httpx.Response:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **fields}
    return httpx.post(base_url + CHAT, headers=HEADERS, json=body, timeout=30)


def reply_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


FIRST = """
[[replies]]
match = "weather"
text = "Sunny, said the first file."
"""
SECOND = """
error_style = "openai"
credits = 50

[[models]]
id = "reloaded-model"
price = 2

[[replies]]
match = "weather"
text = "Raining, says the second file."
"""


@pytest.fixture
def reloading(tmp_path: Path) -> Any:
    """A served mock started from a TOML file, with a reloader on that file (no watcher thread)."""
    file = tmp_path / "mock.toml"
    file.write_text(FIRST)
    config = load_config(config_file=file, env={})
    mock = AINativeMock(config)
    logged: list[str] = []
    reloader = ConfigReloader(mock.state, file, config, env={}, log=logged.append)
    with ServerThread(mock.app) as server:
        yield file, mock, reloader, server.base_url, logged


def test_reload_applies_models_replies_and_settings_and_keeps_ledger_and_journal(reloading: Any) -> None:
    file, mock, reloader, base, logged = reloading
    assert reply_of(ask(base, "weather?")) == "Sunny, said the first file."
    balance_before = mock.state.ledger.balance(KEY)
    file.write_text(SECOND)
    assert reloader.reload()
    assert logged[-1].startswith(f"config reloaded from {file}:")
    for name in ("credits", "error_style", "models", "replies"):
        assert name in logged[-1]

    assert reply_of(ask(base, "weather?", model="reloaded-model")) == "Raining, says the second file."
    assert ask(base, "weather?").status_code == 404  # gpt-4o left the model table
    assert mock.state.journal.total == 3  # the journal goes on
    balance = mock.state.ledger.balance(KEY)
    assert balance["total_credits"] == balance_before["total_credits"]  # existing keys keep their balance
    assert balance["used_credits"] > balance_before["used_credits"]
    assert mock.state.ledger.balance("ak_new_key_after_reload")["total_credits"] == 50  # new keys: the new default
    assert "error" in httpx.post(base + CHAT, json={}).json()  # openai error style
    httpx.post(base + "/_mock/reset")
    assert mock.state.config.error_style == "openai"  # reset returns to the reloaded file, not the first one


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ("[[replies]\nmatch = ", "config file"),
        ('error_style = "xml"', "error_style"),
        ('[[replies]]\nmatch = "x"\nregex = true\ntext = "y"\nfoo = 1', "unknown keys"),
        ("[[models]]\nprice = 1", "id"),
        ("unknown_setting = 1", "unknown setting"),
    ],
)
def test_a_broken_file_is_refused_and_the_old_config_stays(reloading: Any, broken: str, why: str) -> None:
    file, mock, reloader, base, logged = reloading
    before = mock.state.config
    file.write_text(broken)
    assert not reloader.reload()
    assert logged[-1].startswith(f"config file {file} refused, the previous config stays in force:")
    assert why in logged[-1]
    assert mock.state.config is before
    assert reply_of(ask(base, "weather?")) == "Sunny, said the first file."


def test_settings_that_need_a_restart_are_reported_not_applied(reloading: Any) -> None:
    file, mock, reloader, _, logged = reloading
    file.write_text("journal_size = 5\nseed = 9\n" + FIRST)
    assert reloader.reload()
    assert mock.state.config.seed == 9
    assert mock.state.config.journal_size == 1000
    assert "journal_size changed; restart the server to apply" in logged[-1]


def test_a_runtime_change_survives_a_reload_that_does_not_touch_it(reloading: Any) -> None:
    file, mock, reloader, base, _ = reloading
    httpx.put(base + "/_mock/config", json={"tokens_per_second": 250})
    file.write_text(FIRST.replace("Sunny", "Cloudy"))
    assert reloader.reload()
    assert mock.state.config.tokens_per_second == 250
    assert reply_of(ask(base, "weather?")) == "Cloudy, said the first file."


def test_command_line_values_keep_winning_over_the_file(tmp_path: Path) -> None:
    file = tmp_path / "mock.yaml"
    file.write_text("seed: 1\nerror_style: detail\n")
    cli = {"seed": "5"}
    config = load_config(cli, env={}, config_file=file)
    mock = AINativeMock(config)
    reloader = ConfigReloader(mock.state, file, config, cli=cli, env={}, log=lambda _: None)
    file.write_text("seed: 2\nerror_style: compat\n")
    assert reloader.reload()
    assert (mock.state.config.seed, mock.state.config.error_style) == (5, "compat")


@pytest.mark.slow
@pytest.mark.socket
def test_serve_watch_end_to_end(tmp_path: Path) -> None:
    file = tmp_path / "mock.toml"
    file.write_text('tokens_per_second = 20\n[[replies]]\nmatch = "story"\ntext = "' + "word " * 30 + 'end."\n')
    with ServeProcess("--config", str(file), "--watch", "--quiet") as served:
        served.wait_for(r"watching .*mock\.toml")
        base = served.base_url
        stream_result: dict[str, Any] = {}

        def open_stream() -> None:  # 31 tokens at 20/s: still streaming while the file changes
            with httpx.stream(
                "POST",
                base + CHAT,
                headers=HEADERS,
                timeout=30,
                json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "a story"}]},
            ) as response:
                started.set()
                stream_result["body"] = response.read().decode()
            stream_result["ended"] = time.monotonic()

        started = threading.Event()
        streaming = threading.Thread(target=open_stream)
        streaming.start()
        assert started.wait(10), "the stream did not start"
        served_before = httpx.get(base + "/_mock/requests").json()["total"]
        file.write_text('[[replies]]\nmatch = "story"\ntext = "A new story."\n')
        served.wait_for(r"config reloaded from .*mock\.toml: .*replies", timeout=15)
        reloaded_at = time.monotonic()
        assert reply_of(ask(base, "a story")) == "A new story."
        streaming.join(timeout=30)
        body = stream_result["body"]
        assert body.endswith("data: [DONE]\n\n") and "word" in body and "new story" not in body
        assert not streaming.is_alive()
        assert reloaded_at < stream_result["ended"], "the stream had ended before the reload: nothing was proven"
        assert httpx.get(base + "/_mock/requests").json()["total"] == served_before + 2  # journal kept

        file.write_text('[[replies]]\nmatch = "story"\ntext = ')  # broken TOML
        served.wait_for(r"config file .*mock\.toml refused, the previous config stays in force", timeout=15)
        assert reply_of(ask(base, "a story")) == "A new story."


def test_reload_changes_keys_and_faults(reloading: Any) -> None:
    file, _, reloader, base, _ = reloading
    file.write_text('api_keys = ["ak_the_only_key_5678"]\nfault_rate = 1.0\nfaults = ["503"]\n' + FIRST)
    assert reloader.reload()
    assert ask(base, "weather?").status_code == 401  # the prefix rule gave way to the exact key
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "weather?"}]}
    answer = httpx.post(base + CHAT, headers={"X-API-Key": "ak_the_only_key_5678"}, json=body)
    assert answer.status_code == 503  # every request draws a fault now
    file.write_text(FIRST)
    assert reloader.reload()
    assert reply_of(ask(base, "weather?")) == "Sunny, said the first file."
