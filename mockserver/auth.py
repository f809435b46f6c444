"""Who is calling: API keys (X-API-Key or Bearer) and HS256 JWTs, checked in constant time."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import jwt

__all__ = ["AuthError", "Authenticator", "Identity", "mask_secret"]


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller.

    Attributes:
        account: ledger and rate-limit key: the API key itself, or ``jwt:<sub>`` for a JWT.
        masked: safe-to-log form of the credential.
        kind: ``"api_key"`` or ``"jwt"``.
    """

    account: str
    masked: str
    kind: str


class AuthError(Exception):
    """The request carries no usable credential; ``str(self)`` says why (never the secret)."""


def mask_secret(secret: str) -> str:
    """A form of ``secret`` safe to log: its prefix and at most its last 4 characters.

    Example:
        >>> mask_secret("sk_live_1234567890abcd")
        'sk_…abcd'
    """
    head = secret[: secret.index("_") + 1] if "_" in secret[:10] else secret[:2]
    if len(secret) >= len(head) + 12:
        return f"{head}…{secret[-4:]}"
    return f"{head}…"


def _credential(x_api_key: str | None, authorization: str | None) -> str:
    if x_api_key is not None:
        key = x_api_key.strip()
        if key:
            return key
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise AuthError("Authorization header must be 'Bearer <token>'")
        if token.strip():
            return token.strip()
    raise AuthError("Missing API key: send X-API-Key or Authorization: Bearer")


class Authenticator:
    """Decides whether a credential is valid.

    An API key is valid when it is one of ``api_keys`` (if any are configured), else when it
    starts with one of ``key_prefixes`` followed by at least 4 characters. A token with two dots
    is treated as a JWT: valid when HS256-signed with ``jwt_secret`` and not expired.
    """

    def __init__(self, api_keys: tuple[str, ...], key_prefixes: tuple[str, ...], jwt_secret: str) -> None:
        self._keys = tuple(key.encode() for key in api_keys)
        self._prefixes = key_prefixes
        self._jwt_secret = jwt_secret
        self._accepted: dict[str, Identity] = {}  # prefix-rule keys already checked (bounded; never JWTs)

    def authenticate(self, x_api_key: str | None, authorization: str | None) -> Identity:
        """Return the caller's identity or raise :class:`AuthError`."""
        credential = _credential(x_api_key, authorization)
        known = self._accepted.get(credential)
        if known is not None:
            return known
        if credential.count(".") == 2 and not any(credential.startswith(p) for p in self._prefixes):
            return self._jwt(credential)
        if self._key_ok(credential):
            identity = Identity(account=credential, masked=mask_secret(credential), kind="api_key")
            if not self._keys:  # prefix rule only: with exact keys every request pays the constant-time compare
                if len(self._accepted) >= 4096:
                    self._accepted.clear()
                self._accepted[credential] = identity
            return identity
        raise AuthError("Invalid API key")

    def _key_ok(self, key: str) -> bool:
        if self._keys:
            encoded = key.encode()
            found = False
            for known in self._keys:  # compare against every key: timing reveals nothing
                found |= hmac.compare_digest(encoded, known)
            return found
        return any(key.startswith(prefix) and len(key) >= len(prefix) + 4 for prefix in self._prefixes)

    def _jwt(self, token: str) -> Identity:
        try:
            claims = jwt.decode(
                token, self._jwt_secret, algorithms=["HS256"], options={"require": [], "verify_aud": False}
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("Token expired") from None
        except jwt.InvalidTokenError:
            raise AuthError("Invalid token") from None
        subject = str(claims.get("sub") or claims.get("user_id") or claims.get("email") or "anonymous")
        return Identity(account=f"jwt:{subject}", masked=f"jwt:{subject}", kind="jwt")
