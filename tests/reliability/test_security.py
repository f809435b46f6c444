"""Security: secrets stay out of logs and the journal, keys compare in constant time, JWTs and the control API.

Runs against a real socket so that uvicorn's own loggers are part of what is checked.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
import warnings

import jwt
import pytest

from mockserver import auth
from mockserver.auth import Authenticator, AuthError
from tests.support.chat import CHAT_PATH, chat_bytes
from tests.support.mocks import ServeFactory
from tests.support.raw_http import get, post
from tests.support.server_insides import LogsFactory

pytestmark = [pytest.mark.reliability, pytest.mark.socket]

SECRET_KEY = "ak_live_S3CR3T_do_not_log_7f3a9c1e5b2d"
"""A distinctive, valid key: it must never appear whole anywhere but in the request."""
JWT_SECRET = "ainative-mock-jwt-secret-for-tests-only"
"""The mock's documented default HS256 secret."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(claims: dict[str, object], key: str, algorithm: str = "HS256") -> str:
    """A JWT signed with ``key`` (PyJWT's warning about short HMAC keys is beside the point here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm)


def unsigned_token(claims: dict[str, object]) -> str:
    """A JWT with ``alg: none`` and no signature."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def test_keys_never_appear_whole_in_logs_journal_or_answers(serve: ServeFactory, server_logs: LogsFactory) -> None:
    mock = serve(log_level="debug")
    logs = server_logs()
    port = mock.server.port
    token = forge({"sub": "user-42", "exp": int(time.time()) + 600}, JWT_SECRET, "HS256")
    answers = [
        post(port, chat_bytes(max_tokens=4), headers={"X-API-Key": SECRET_KEY}),
        post(port, chat_bytes(max_tokens=4, stream=True), headers={"X-API-Key": SECRET_KEY}),
        post(port, chat_bytes(max_tokens=4), headers={"X-API-Key": "", "Authorization": f"Bearer {SECRET_KEY}"}),
        post(port, b"{not json", headers={"X-API-Key": SECRET_KEY}),
        post(port, chat_bytes(), headers={"X-API-Key": SECRET_KEY, "X-Mock-Fault": "500"}),
        post(port, chat_bytes(), headers={"X-API-Key": SECRET_KEY, "X-Mock-Fault": "disconnect"}),
        post(
            port,
            chat_bytes(stream=True),
            headers={"X-API-Key": SECRET_KEY, "X-Mock-Fault": "disconnect; after_chunks=1"},
        ),
        post(port, chat_bytes(), headers={"X-API-Key": SECRET_KEY, "X-Mock-Fault": "no such fault"}),
        # An unexpected error logs a traceback: it must not carry the key either.
        post(
            port,
            json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2.0}).encode(),
            headers={"X-API-Key": SECRET_KEY},
        ),
        post(port, chat_bytes(), headers={"X-API-Key": "zz_" + SECRET_KEY}),  # no known prefix: refused
        post(port, chat_bytes(), headers={"X-API-Key": "", "Authorization": f"Basic {SECRET_KEY}"}),
        post(port, chat_bytes(), headers={"X-API-Key": "", "Authorization": f"Bearer {token}x"}),
        get(port, "/v1/public/credits/balance", headers={"X-API-Key": SECRET_KEY}),
        get(port, "/v1/models", headers={"X-API-Key": SECRET_KEY}),
        get(port, "/nowhere", headers={"X-API-Key": SECRET_KEY}),
    ]
    with_jwt = post(port, chat_bytes(max_tokens=4), headers={"X-API-Key": "", "Authorization": f"Bearer {token}"})
    assert answers[0].status == 200
    assert with_jwt.status == 200
    journal = get(port, "/_mock/requests")
    assert journal.status == 200
    entries = journal.json()["requests"]
    assert any(entry["key"] == auth.mask_secret(SECRET_KEY) for entry in entries)

    secret_part = SECRET_KEY[len("ak_") :]
    for answer in answers:
        assert secret_part.encode() not in answer.body, answer.body[:300]
        assert all(secret_part not in value for value in answer.headers.values())
    assert secret_part not in journal.body.decode()
    assert token not in journal.body.decode()
    logged = logs.text()
    assert logs.records, "nothing was logged: the capture is not wired to the server's loggers"
    assert secret_part not in logged, logged
    assert token.split(".")[2] not in logged


@pytest.mark.parametrize("matching", [None, 0, 1, 2], ids=["no-match", "first", "middle", "last"])
def test_exact_keys_are_all_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch, matching: int | None) -> None:
    """Every configured key goes through ``hmac.compare_digest``, whichever one matches."""
    keys = ("ak_exact_key_aaaaaaaaaaaa", "sk_exact_key_bbbbbbbbbbbb", "custom-key-without-prefix-c")
    compared: list[tuple[bytes | str, bytes | str]] = []
    real = hmac.compare_digest

    def spy(a: bytes | str, b: bytes | str) -> bool:
        compared.append((a, b))
        return real(a, b)  # type: ignore[type-var]

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    authenticator = Authenticator(keys, ("ak_", "sk_"), JWT_SECRET)
    given = keys[matching] if matching is not None else "ak_exact_key_zzzzzzzzzzzz"
    if matching is None:
        with pytest.raises(AuthError):
            authenticator.authenticate(given, None)
    else:
        assert authenticator.authenticate(given, None).account == given
    against = sorted(b.decode() if isinstance(b, bytes) else b for _, b in compared)
    assert against == sorted(keys), f"compared against {against}: timing would reveal which key matched"
    assert all(a in (given, given.encode()) for a, _ in compared)


def test_exact_keys_are_compared_in_constant_time_through_the_server(
    serve: ServeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = ("ak_served_key_000000000001", "ak_served_key_000000000002")
    mock = serve(api_keys=keys)
    compared: list[bytes | str] = []
    real = hmac.compare_digest

    def spy(a: bytes | str, b: bytes | str) -> bool:
        compared.append(b)
        return real(a, b)  # type: ignore[type-var]

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert post(mock.server.port, chat_bytes(max_tokens=4), headers={"X-API-Key": keys[1]}).status == 200
    assert post(mock.server.port, chat_bytes(), headers={"X-API-Key": "ak_served_key_000000000003"}).status == 401
    assert len(compared) == 2 * len(keys), compared
    assert sorted(b.decode() if isinstance(b, bytes) else b for b in compared) == sorted(keys * 2)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(unsigned_token({"sub": "mallory"}), id="alg-none"),
        pytest.param(unsigned_token({"sub": "mallory"}) + _b64(b"sig"), id="alg-none-with-signature"),
        pytest.param(forge({"sub": "mallory"}, "not-the-secret-" * 3, "HS256"), id="wrong-secret"),
        pytest.param(forge({"sub": "mallory"}, JWT_SECRET + "x", "HS256"), id="secret-plus-one"),
        pytest.param(forge({"sub": "mallory"}, JWT_SECRET, "HS512"), id="right-secret-hs512"),
        pytest.param(forge({"sub": "mallory"}, JWT_SECRET, "HS384"), id="right-secret-hs384"),
        pytest.param(forge({"sub": "mallory", "exp": int(time.time()) - 60}, JWT_SECRET, "HS256"), id="expired"),
        pytest.param(
            forge({"sub": "mallory", "nbf": int(time.time()) + 3600}, JWT_SECRET, "HS256"),
            id="not-yet-valid",
        ),
        pytest.param("a.b.c", id="three-junk-parts"),
    ],
)
@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
def test_forged_jwts_are_refused_with_401(serve: ServeFactory, token: str, header: str) -> None:
    mock = serve()
    headers = {"X-API-Key": ""}
    if header == "authorization":
        headers["Authorization"] = f"Bearer {token}"
    else:
        headers["X-API-Key"] = token
    for response in (
        post(mock.server.port, chat_bytes(), headers=headers),
        get(mock.server.port, "/v1/public/credits/balance", headers=headers),
    ):
        assert response.status == 401, response.body[:300]
        assert response.json()
    assert mock.balance("jwt:mallory")["used_credits"] == 0


def test_a_genuine_hs256_jwt_is_accepted(serve: ServeFactory) -> None:
    """The control for the refusals above: the same request with a good token is served."""
    mock = serve()
    token = forge({"sub": "alice", "exp": int(time.time()) + 600}, JWT_SECRET, "HS256")
    response = post(
        mock.server.port, chat_bytes(max_tokens=4), headers={"X-API-Key": "", "Authorization": f"Bearer {token}"}
    )
    assert response.status == 200, response.body[:300]


CONTROL_CALLS = [
    ("GET", "/_mock/requests"),
    ("GET", "/_mock/config"),
    ("GET", "/_mock/faults"),
    ("POST", "/_mock/reset"),
    ("DELETE", "/_mock/faults"),
]


def control(port: int, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, object]:
    from tests.support.raw_http import exchange, request_head

    response = exchange(port, request_head(method, path, headers or {}, content_length=0), method=method)
    return response.status, response.json()


@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS)
def test_control_api_is_off_beyond_loopback_without_an_admin_token(serve: ServeFactory, method: str, path: str) -> None:
    mock = serve(host="0.0.0.0")  # the config says "all interfaces"; the test server still binds 127.0.0.1
    status, body = control(mock.server.port, method, path)
    assert status == 403, body
    status, _ = control(mock.server.port, method, path, {"Authorization": "Bearer anything"})
    assert status == 403
    # The public API still works.
    assert post(mock.server.port, chat_bytes(max_tokens=4)).status == 200


@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS)
@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_control_api_with_an_admin_token_needs_exactly_that_token(
    serve: ServeFactory, host: str, method: str, path: str
) -> None:
    token = "admin-token-for-reliability-tests"
    mock = serve(host=host, admin_token=token)
    port = mock.server.port
    for wrong in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {token[:-1]}"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": f"Basic {token}"},
        {"X-Admin-Token": token.upper()},
        {"X-Admin-Token": ""},
    ):
        status, body = control(port, method, path, wrong)
        assert status == 401, (wrong, body)
        assert token not in json.dumps(body)
    assert control(port, method, path, {"Authorization": f"Bearer {token}"})[0] == 200
    assert control(port, method, path, {"X-Admin-Token": token})[0] == 200


def test_the_config_endpoint_never_shows_secrets(serve: ServeFactory) -> None:
    mock = serve(admin_token="admin-token-shown-nowhere", jwt_secret="jwt-secret-shown-nowhere")
    response = get(mock.server.port, "/_mock/config", headers={"X-Admin-Token": "admin-token-shown-nowhere"})
    assert response.status == 200
    assert b"shown-nowhere" not in response.body
    assert CHAT_PATH  # the public routes are unaffected by the admin token:
    assert post(mock.server.port, chat_bytes(max_tokens=4)).status == 200
