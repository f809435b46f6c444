"""The mock's pages: the inspector at ``/`` (also ``/_mock/ui``) and the API docs at ``/docs``.

Both are static files shipped in the package (``mockserver/static/``) and, for ``/docs``, Swagger
UI 5 from the ``swagger-ui-py`` package (``swagger-ui-bundle`` ships Swagger UI 4, which cannot
render an OpenAPI 3.1 document): no build step, no CDN, they work offline. The inspector
does everything through the control API (``/_mock/...``), so it obeys the same access rules. A
Content-Security-Policy keeps both pages from loading or sending anything to another host.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["PAGE_CSP", "ui_routes"]

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The inspector's policy: its own scripts and styles only, requests to the mock only."""
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Swagger UI sets inline styles; everything else as for the inspector."""
_SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def _static_dir() -> Path:
    return Path(str(resources.files("mockserver") / "static"))


SWAGGER_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
"""The only Swagger UI files served (the package also ships an editor that the docs do not need)."""


def _swagger_dir() -> Path:
    return Path(str(resources.files("swagger_ui") / "static"))


async def _swagger_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in SWAGGER_FILES:
        return Response(b"", 404)
    return FileResponse(
        _swagger_dir() / name, media_type=SWAGGER_FILES[name], headers={"cache-control": "max-age=3600"}
    )


@cache
def _read(name: str) -> bytes:
    return (_static_dir() / name).read_bytes()


def _page(name: str, csp: str) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint serving one HTML file of ``mockserver/static/`` with its security headers."""
    headers = {**_SECURITY_HEADERS, "content-security-policy": csp}

    async def endpoint(request: Request) -> Response:
        return Response(_read(name), 200, headers, media_type="text/html")

    return endpoint


async def _to_page(request: Request) -> Response:
    return RedirectResponse("/_mock/ui", 307)


def ui_routes() -> list[BaseRoute]:
    """Routes of the inspector page, its assets, and the API docs."""
    page = _page("index.html", PAGE_CSP)
    docs = _page("docs.html", DOCS_CSP)
    return [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/_mock/ui", page, methods=["GET", "HEAD"]),
        Route("/_mock/ui/", _to_page, methods=["GET", "HEAD"]),
        Mount("/_mock/ui/static", StaticFiles(directory=_static_dir()), name="mock-ui-static"),
        Route("/docs", docs, methods=["GET", "HEAD"]),
        Route("/docs/static/{name}", _swagger_asset, methods=["GET", "HEAD"]),
    ]
