"""Who may call: API keys in either header and any case, prefixes, exact key lists, HS256 JWTs."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.support.chat import BODY, JWT_SECRET
from tests.support.checks import check_response, error_message
from tests.support.mocks import Mock, MockFactory


def _ok(m: Mock, headers: dict[str, str], path: str = "/api/v1/chat/completions") -> None:
    response = m.post(BODY, path=path, headers=headers)
    assert response.status_code == 200, response.text
    check_response(response)


def _denied(m: Mock, headers: dict[str, str], why: str = "") -> str:
    response = m.post(BODY, headers=headers)
    assert response.status_code == 401, response.text
    message = error_message(check_response(response))
    assert why.lower() in message.lower()
    return message


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "ak_your_key"},
        {"x-api-key": "sk_live_abcd"},
        {"X-API-KEY": "tmp_1234"},
        {"Authorization": "Bearer zdb_live_abcd"},
        {"authorization": "bearer ak_your_key"},
        {"X-API-Key": "  ak_padded_key  "},
        {"X-API-Key": "", "Authorization": "Bearer ak_bearer_fallback"},
    ],
    ids=["X-API-Key", "lowercase", "uppercase", "bearer", "bearer-lowercase", "padded", "blank-header-then-bearer"],
)
def test_api_key_accepted_in_either_header(mock: Mock, headers: dict[str, str]) -> None:
    _ok(mock, headers)


@pytest.mark.parametrize(
    "key",
    ["ak_", "ak_abc", "sk_12", "tmp_", "zdb_live_xyz", "live_abcdef", "key1234", "sk-ant-api03-abcdefgh", "AK_ABCDEF"],
)
def test_key_needs_a_known_prefix_and_four_more_characters(mock: Mock, key: str) -> None:
    _denied(mock, {"X-API-Key": key}, "invalid api key")


@pytest.mark.parametrize("key", ["ak_abcd", "sk_abcd", "tmp_abcd", "zdb_live_abcd"])
def test_each_default_prefix_with_four_characters_passes(mock: Mock, key: str) -> None:
    _ok(mock, {"X-API-Key": key})


def test_missing_credentials_say_how_to_authenticate(mock: Mock) -> None:
    message = _denied(mock, {})
    assert "X-API-Key" in message


@pytest.mark.parametrize("header", ["Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Token ak_your_key", "ak_your_key"])
def test_authorization_must_be_bearer(mock: Mock, header: str) -> None:
    _denied(mock, {"Authorization": header}, "bearer")


def test_exact_key_list_replaces_the_prefix_rule(make_mock: MockFactory) -> None:
    m = make_mock(api_keys=("sk_exact_one", "custom-key-2"))
    _ok(m, {"X-API-Key": "sk_exact_one"})
    _ok(m, {"Authorization": "Bearer custom-key-2"})
    _denied(m, {"X-API-Key": "sk_exact_two"})  # right prefix, not in the list
    _denied(m, {"X-API-Key": "sk_exact_on"})  # a prefix of a listed key


def test_custom_prefixes(make_mock: MockFactory) -> None:
    m = make_mock(key_prefixes=("mock_",))
    _ok(m, {"X-API-Key": "mock_1234"})
    _denied(m, {"X-API-Key": "ak_your_key"})


def _token(claims: dict[str, object], secret: str = JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def test_valid_hs256_jwt_is_accepted_on_every_route(mock: Mock) -> None:
    token = _token({"sub": "user-1", "exp": int(time.time()) + 3600})
    headers = {"Authorization": f"Bearer {token}"}
    _ok(mock, headers, "/api/v1/managed/chat/completions")
    _ok(mock, headers, "/v1/public/chat/completions")
    balance = mock.client.get("/api/v1/public/credits/balance", headers=headers)
    assert check_response(balance)["used_credits"] > 0  # billed to the JWT's subject
    other = _token({"sub": "user-2"})
    fresh = mock.client.get("/api/v1/public/credits/balance", headers={"Authorization": f"Bearer {other}"})
    assert check_response(fresh)["used_credits"] == 0


def test_jwt_signed_with_a_custom_secret(make_mock: MockFactory) -> None:
    secret = "a-custom-secret-that-is-long-enough-for-hs256"
    m = make_mock(jwt_secret=secret)
    _ok(m, {"Authorization": f"Bearer {_token({'sub': 'u'}, secret)}"})
    _denied(m, {"Authorization": f"Bearer {_token({'sub': 'u'})}"}, "invalid token")


def test_expired_jwt_is_401(mock: Mock) -> None:
    token = _token({"sub": "user-1", "exp": int(time.time()) - 60})
    _denied(mock, {"Authorization": f"Bearer {token}"}, "expired")


def test_jwt_with_the_wrong_secret_is_401(mock: Mock) -> None:
    token = _token({"sub": "user-1"}, "not-the-mock-secret-but-long-enough-to-sign")
    _denied(mock, {"Authorization": f"Bearer {token}"}, "invalid token")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_unsigned_alg_none_jwt_is_401(mock: Mock) -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'admin'})}."
    _denied(mock, {"Authorization": f"Bearer {token}"}, "invalid token")


def test_tampered_jwt_is_401(mock: Mock) -> None:
    header, _, signature = _token({"sub": "user-1"}).split(".")
    token = f"{header}.{_b64({'sub': 'admin'})}.{signature}"
    _denied(mock, {"Authorization": f"Bearer {token}"}, "invalid token")


def test_jwt_in_x_api_key_header_is_checked_as_a_jwt(mock: Mock) -> None:
    _ok(mock, {"X-API-Key": _token({"sub": "user-1"})})
    _denied(mock, {"X-API-Key": "aaa.bbb.ccc"}, "invalid token")


def test_balance_and_models_need_credentials(mock: Mock) -> None:
    for path in ("/api/v1/public/credits/balance", "/v1/models"):
        response = mock.client.get(path)
        assert response.status_code == 401
        check_response(response)
        assert mock.client.get(path, headers={"Authorization": "Bearer sk_live_abcd"}).status_code == 200
