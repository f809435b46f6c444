"""Shared helpers of the browser tests: Chromium, a second origin to call the mock from, artifacts.

Imported as ``tests.browser.browser_support`` by ``conftest.py`` and the test modules.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mockserver.app import AINativeMock
from mockserver.server import ServerThread

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-sync",
]
"""Headless, and none of Chromium's own traffic (updates, field trials, sync): loopback only."""
ARTIFACTS_ENV = "AINATIVE_BROWSER_ARTIFACTS"
"""Where screenshots go; default ``artifacts/browser/`` under the repository root."""


def chromium_executable() -> str:
    """The Debian ``chromium`` (Playwright cannot download its own browser here). Missing = a loud failure."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        pytest.fail("chromium is not installed: `apt-get install -y chromium` (.ci/run does it when missing)")
    return path


def artifacts_dir(root: Path) -> Path:
    """The screenshot folder (created)."""
    folder = Path(os.environ.get(ARTIFACTS_ENV) or root / "artifacts" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Served:
    """A mock on 127.0.0.1: its object (state, config) and base URL."""

    mock: AINativeMock
    server: ServerThread

    @property
    def base_url(self) -> str:
        return self.server.base_url


FRONTEND_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>frontend</title></head>
<body><h1>A frontend on another origin</h1><div id="root"></div>{scripts}</body></html>"""


@dataclass
class Frontend:
    """A second origin (``http://localhost:PORT``) serving a blank page and files from ``folder``."""

    folder: Path
    server: ServerThread | None = None
    pages: dict[str, list[str]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://localhost:{self.server.port}"

    def page_with(self, name: str, *scripts: str) -> str:
        """URL of a page ``/p/<name>`` that loads ``scripts`` (files under ``folder``)."""
        self.pages[name] = list(scripts)
        return f"{self.base_url}/p/{name}"

    def app(self) -> Starlette:
        async def blank(request: Request) -> HTMLResponse:
            name = request.path_params.get("name")
            tags = "".join(f'<script src="/files/{s}"></script>' for s in self.pages.get(name or "", []))
            return HTMLResponse(FRONTEND_PAGE.format(scripts=tags))

        return Starlette(
            routes=[
                Route("/", blank),
                Route("/p/{name}", blank),
                Mount("/files", StaticFiles(directory=self.folder)),
            ]
        )


def call_mock(page: Page, url: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` to ``url`` with ``fetch`` from ``page``: status, Retry-After, JSON or SSE text, error message."""
    result: dict[str, Any] = page.evaluate(
        """async ([url, key, body]) => {
            const response = await fetch(url, {
                method: "POST",
                headers: {"Content-Type": "application/json", "X-API-Key": key},
                body: JSON.stringify(body),
            });
            const text = await response.text();
            let json = null;
            try { json = JSON.parse(text); } catch (_) {}
            const message = json && (typeof json.detail === "string" ? json.detail : json.error && json.error.message);
            return {status: response.status, retryAfter: response.headers.get("Retry-After"), text, json, message};
        }""",
        [url, key, body],
    )
    return result


def host_of(url: str) -> str:
    """``host:port`` of ``url`` (``data:``/``about:`` URLs give their scheme)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "about", "blob"):
        return parts.scheme
    return parts.netloc
