"""Cassettes: one recorded exchange per JSON file, scrubbed of secrets, named by what replay matches on.

The format is documented in ``docs/cassettes.md``. In short::

    {
      "version": 1,
      "request": {"method": "POST", "route": "/v1/chat/completions", "body": {...}},
      "response": {
        "status": 200,
        "headers": {"content-type": "text/event-stream; charset=utf-8"},
        "events": [{"delay_ms": 41.2, "json": {...}}, ..., {"delay_ms": 3.0, "data": "[DONE]"}]
      }
    }

A JSON answer has ``"json"`` (the parsed body) instead of ``"events"``, with ``"json_style"`` when
it was not written compactly; a body that no style reproduces byte for byte keeps its ``"text"``. The file name is
``<method>-<route>-<hash>.json`` where the hash is taken over the match keys
(:data:`DEFAULT_MATCH_KEYS`), so the same request always lands in the same file.

Example:
    >>> request = CassetteRequest("POST", "/v1/chat/completions", {"model": "m", "messages": [], "stream": False})
    >>> match_values(request)["route"]
    'POST /v1/chat/completions'
    >>> Scrubber().scrub("key sk_live_abcdef123 and Bearer eyJhbGciOi.eyJzdWIi.sig")
    'key [SCRUBBED] and [SCRUBBED]'
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CASSETTE_VERSION",
    "DEFAULT_MATCH_KEYS",
    "RECORDED_HEADERS",
    "Cassette",
    "CassetteError",
    "CassetteRequest",
    "CassetteResponse",
    "RecordedEvent",
    "Scrubber",
    "cassette_name",
    "credential_literals",
    "load_cassettes",
    "match_hash",
    "match_values",
]

CASSETTE_VERSION = 1
DEFAULT_MATCH_KEYS: tuple[str, ...] = ("route", "model", "messages", "tools", "stream")
"""What replay compares: ``route`` is ``METHOD /path``; every other key is a top-level body field."""

RECORDED_HEADERS = frozenset(
    {
        "content-type",
        "cache-control",
        "x-request-id",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
        "x-ratelimit-limit-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-requests",
        "x-ratelimit-reset-tokens",
    }
)
"""Response headers a cassette keeps; every other header (cookies above all) is left out."""

SCRUBBED = "[SCRUBBED]"
_DEFAULT_PATTERNS = (
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+",  # an Authorization value
    r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",  # a JWT (header.payload.signature)
    r"\b(?:ak|sk|pk|rk|tmp|zdb_live)[_-][A-Za-z0-9_-]{4,}",  # API keys of AINative and OpenAI shapes
)


class CassetteError(ValueError):
    """A cassette file cannot be read; the message names the file and what is wrong."""


class Scrubber:
    """Replace secrets in text and JSON values by ``[SCRUBBED]``.

    Secrets are API keys (AINative and OpenAI shapes), JWTs, ``Bearer`` values, the exact
    credential values of the exchange being scrubbed, and whatever matches ``patterns``.

    Args:
        patterns: extra regular expressions (``--scrub``).
        literals: exact strings to remove (the request's own key, token, cookies).
    """

    def __init__(self, patterns: Iterable[str] = (), literals: Iterable[str] = ()) -> None:
        self.patterns = tuple(patterns)
        self._regexes = [re.compile(p) for p in (*_DEFAULT_PATTERNS, *self.patterns)]
        self._literals = sorted({s for s in literals if len(s) >= 4}, key=len, reverse=True)

    def with_literals(self, literals: Iterable[str]) -> Scrubber:
        """A scrubber with the same patterns that also removes ``literals``."""
        return Scrubber(self.patterns, [*self._literals, *literals])

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced."""
        for literal in self._literals:
            text = text.replace(literal, SCRUBBED)
        for regex in self._regexes:
            text = regex.sub(SCRUBBED, text)
        return text

    def scrub_value(self, value: Any) -> Any:
        """A JSON value with every string (keys included) scrubbed."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {self.scrub(str(k)): self.scrub_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_value(v) for v in value]
        return value


def credential_literals(headers: Mapping[str, str]) -> list[str]:
    """The secret values carried by request headers (keys, bearer tokens, cookie values)."""
    out: list[str] = []
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in ("x-api-key", "api-key", "proxy-authorization"):
            out.append(value.strip())
        elif lowered == "authorization":
            out.append(value.strip())
            out.append(value.partition(" ")[2].strip())
        elif lowered == "cookie":
            out.extend(part.partition("=")[2].strip() for part in value.split(";"))
    return [o for o in out if o]


@dataclass(frozen=True, slots=True)
class CassetteRequest:
    """The recorded request: method, route (path, no query) and body (JSON value, or text, or None)."""

    method: str
    route: str
    body: Any = None


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One SSE event: its ``data`` text, its delay after the previous event (the first: after the request)."""

    data: str
    delay_ms: float
    event: str = ""

    def encode(self) -> bytes:
        """The event's bytes, framed as OpenAI frames it."""
        head = f"event: {self.event}\n" if self.event else ""
        lines = "".join(f"data: {line}\n" for line in self.data.split("\n"))
        return f"{head}{lines}\n".encode()


@dataclass(frozen=True, slots=True)
class CassetteResponse:
    """The recorded answer: status, allowlisted headers, and the body or the SSE events."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: tuple[RecordedEvent, ...] | None = None

    @property
    def is_stream(self) -> bool:
        """Whether the answer was a server-sent event stream."""
        return self.events is not None

    def json(self) -> Any:
        """The JSON body, or None when the body is not JSON (or this is a stream)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def stream_bytes(self) -> bytes:
        """All events, framed (what the client received, without the timing)."""
        return b"".join(e.encode() for e in self.events or ())

    def usage(self) -> Mapping[str, Any] | None:
        """The recorded ``usage`` object (JSON body, or the last stream chunk that has one)."""
        if self.events is None:
            body = self.json()
            usage = body.get("usage") if isinstance(body, Mapping) else None
            return usage if isinstance(usage, Mapping) else None
        for event in reversed(self.events):
            try:
                chunk = json.loads(event.data)
            except ValueError:
                continue
            if isinstance(chunk, Mapping) and isinstance(chunk.get("usage"), Mapping):
                return dict(chunk["usage"])
        return None


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def match_values(request: CassetteRequest, keys: Sequence[str] = DEFAULT_MATCH_KEYS) -> dict[str, Any]:
    """The values of ``keys`` for ``request`` (a body field it lacks is None)."""
    body = request.body if isinstance(request.body, Mapping) else {}
    out: dict[str, Any] = {}
    for key in keys:
        if key == "route":
            out[key] = f"{request.method.upper()} {request.route}"
        elif key == "stream":
            out[key] = body.get("stream") is True
        else:
            out[key] = body.get(key)
    return out


def match_hash(request: CassetteRequest, keys: Sequence[str] = DEFAULT_MATCH_KEYS) -> str:
    """A stable hash of the match values (sorted-key compact JSON, SHA-256, 16 hex digits)."""
    canonical = json.dumps(match_values(request, keys), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]


def cassette_name(request: CassetteRequest) -> str:
    """The file name of a cassette: ``post-v1-chat-completions-<hash>.json``."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{request.method} {request.route}".lower()).strip("-")[:60]
    return f"{slug}-{match_hash(request)}.json"


@dataclass(frozen=True, slots=True)
class Cassette:
    """One recorded exchange.

    Attributes:
        request: what was asked.
        response: what came back.
        path: the file it was read from or written to (None when in memory only).
    """

    request: CassetteRequest
    response: CassetteResponse
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """The document written to disk (see the module docstring)."""
        response: dict[str, Any] = {
            "status": self.response.status,
            "headers": dict(sorted(self.response.headers.items())),
        }
        if self.response.events is not None:
            response["events"] = [_event_dict(e) for e in self.response.events]
        else:
            response.update(_body_dict(self.response.body))
        return {
            "version": CASSETTE_VERSION,
            "request": {"method": self.request.method, "route": self.request.route, "body": self.request.body},
            "response": response,
        }

    def dumps(self) -> str:
        """The cassette as indented JSON text (stable key order: diffs stay small)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def write(self, directory: Path) -> Path:
        """Write the cassette into ``directory`` under :func:`cassette_name`; returns the path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / cassette_name(self.request)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # writers never share one
        tmp.write_text(self.dumps(), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, data: Any, path: Path | None = None) -> Cassette:
        """Read a cassette document; raises :class:`CassetteError` naming what is wrong."""
        where = str(path) if path else "cassette"
        try:
            if data.get("version") != CASSETTE_VERSION:
                raise CassetteError(f"{where}: version {data.get('version')!r}, expected {CASSETTE_VERSION}")
            req, resp = data["request"], data["response"]
            request = CassetteRequest(str(req["method"]).upper(), str(req["route"]), req.get("body"))
            headers = {str(k).lower(): str(v) for k, v in (resp.get("headers") or {}).items()}
            events = None
            if "events" in resp:
                events = tuple(
                    RecordedEvent(
                        e["data"] if "data" in e else _compact(e["json"]),
                        float(e.get("delay_ms", 0)),
                        e.get("event", ""),
                    )
                    for e in resp["events"]
                )
            body = _body_bytes(resp)
            return cls(request, CassetteResponse(int(resp["status"]), headers, body, events), path)
        except CassetteError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise CassetteError(f"{where}: not a cassette ({type(exc).__name__}: {exc})") from None

    @classmethod
    def load(cls, path: Path) -> Cassette:
        """Read one cassette file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CassetteError(f"{path}: cannot read: {exc}") from None
        return cls.from_dict(data, path)


def _event_dict(event: RecordedEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"delay_ms": round(event.delay_ms, 3)}
    if event.event:
        out["event"] = event.event
    try:
        value = json.loads(event.data)
    except ValueError:
        value = None
    if value is not None and not isinstance(value, str) and _compact(value) == event.data:
        out["json"] = value
    else:
        out["data"] = event.data
    return out


JSON_STYLES: dict[str, Callable[[Any], str]] = {
    "compact": _compact,
    "spaced": lambda v: json.dumps(v, ensure_ascii=False),
    "compact-ascii": lambda v: json.dumps(v, separators=(",", ":")),
    "spaced-ascii": json.dumps,
}
"""How a JSON body was written, so it replays byte for byte without keeping its text twice."""


def _body_dict(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return {"text": text}
    if value is None and not text:
        return {"text": ""}
    for style, encode in JSON_STYLES.items():
        if encode(value) == text:
            return {"json": value} if style == "compact" else {"json": value, "json_style": style}
    return {"json": value, "text": text}


def _body_bytes(resp: Mapping[str, Any]) -> bytes:
    if "text" in resp:
        return str(resp["text"]).encode("utf-8")
    if "base64" in resp:
        return bytes(base64.b64decode(resp["base64"]))
    if "json" in resp:
        encode = JSON_STYLES.get(str(resp.get("json_style", "compact")), _compact)
        return encode(resp["json"]).encode("utf-8")
    return b""


def load_cassettes(location: Path) -> list[Cassette]:
    """Every cassette in a directory (recursively, sorted by path), or the one file ``location`` names.

    Raises:
        CassetteError: the location does not exist, or a file in it is not a cassette.
    """
    if location.is_file():
        return [Cassette.load(location)]
    if not location.is_dir():
        raise CassetteError(f"{location}: no such cassette file or directory")
    return [Cassette.load(p) for p in sorted(location.rglob("*.json"))]
