"""Browsers: CORS preflights for the SDK headers, exposed response headers, configurable origins."""

from __future__ import annotations

import pytest

from tests.support.chat import BODY, HEADERS
from tests.support.checks import check_response
from tests.support.mocks import Mock, MockFactory

ORIGIN = "http://localhost:3000"


def _preflight(m: Mock, origin: str = ORIGIN, path: str = "/api/v1/chat/completions") -> object:
    return m.client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, authorization, content-type",
        },
    )


@pytest.mark.parametrize("path", ["/api/v1/chat/completions", "/api/v1/public/managed-chat/chat/completions"])
def test_preflight_allows_the_sdk_headers(mock: Mock, path: str) -> None:
    response = _preflight(mock, path=path)
    assert response.status_code == 200  # type: ignore[attr-defined]
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["access-control-allow-origin"] in ("*", ORIGIN)
    assert "POST" in headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"x-api-key", "authorization", "content-type"} <= allowed


@pytest.mark.parametrize("authenticated", [True, False])
def test_responses_expose_the_request_id(mock: Mock, authenticated: bool) -> None:
    response = mock.post(BODY, headers={**(HEADERS if authenticated else {}), "Origin": ORIGIN})
    check_response(response)
    assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "retry-after"} <= exposed


def test_streams_carry_cors_headers(mock: Mock) -> None:
    response = mock.post({**BODY, "stream": True}, headers={**HEADERS, "Origin": ORIGIN})
    check_response(response)
    assert response.headers["access-control-allow-origin"] in ("*", ORIGIN)


def test_configured_origins_restrict(make_mock: MockFactory) -> None:
    m = make_mock(cors_origins=(ORIGIN,))
    assert _preflight(m).status_code == 200  # type: ignore[attr-defined]
    assert _preflight(m).headers["access-control-allow-origin"] == ORIGIN  # type: ignore[attr-defined]
    other = m.post(BODY, headers={**HEADERS, "Origin": "http://evil.example"})
    assert other.status_code == 200  # CORS is enforced by the browser: no allow-origin header for it
    assert "access-control-allow-origin" not in other.headers
    assert m.post(BODY, headers={**HEADERS, "Origin": ORIGIN}).headers["access-control-allow-origin"] == ORIGIN


def test_rejected_preflight_is_an_error_with_a_request_id(make_mock: MockFactory) -> None:
    """A refused preflight is an error the app sends; like every error it should carry x-request-id and JSON."""
    m = make_mock(cors_origins=(ORIGIN,))
    response = _preflight(m, origin="http://evil.example")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "access-control-allow-origin" not in response.headers  # type: ignore[attr-defined]
    check_response(response)
