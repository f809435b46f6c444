"""Fixtures of the proxy tests: the stand-in upstream and the validation proxy in front of it, on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver.proxy import ValidationProxy
from tests.proxy.proxy_upstream import Running, Upstream


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, str]]:
    """The stand-in real API on a free loopback port: (app, base URL)."""
    app = Upstream()
    with Running(app) as running:
        yield app, running.url


@pytest.fixture
def start_proxy() -> Iterator[Callable[..., tuple[ValidationProxy, str]]]:
    """Factory: ``start_proxy(upstream_url, **ValidationProxy options)`` -> (proxy, base URL), stopped at teardown."""
    running: list[Running] = []

    def start(upstream_url: str, **options: Any) -> tuple[ValidationProxy, str]:
        proxy = ValidationProxy(upstream_url, **options)
        server = Running(proxy, lifespan="on", server_header=False, date_header=False).__enter__()
        running.append(server)
        return proxy, server.url

    yield start
    for server in running:
        server.__exit__(None, None, None)


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
