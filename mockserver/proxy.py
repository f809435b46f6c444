"""The validation proxy: forward to a real upstream, pass answers through untouched, judge them, record them.

``ainative-mock proxy --upstream URL`` runs :class:`ValidationProxy` under uvicorn. Every request
goes to the upstream as it came (method, path, query, headers including credentials, body);
every answer comes back as the upstream sent it. A server-sent event stream is forwarded chunk
by chunk as it arrives, never buffered. Each exchange is judged with the clauses of
``ainative-mock check`` (:func:`contracts.conformance.traffic.judge_exchange`); violations are
logged, counted in ``x-contract-violations`` (non-streamed answers), listed at
``GET /_proxy/violations`` and written to a report at exit. With a record directory each
exchange becomes a cassette (:mod:`mockserver.cassettes`), scrubbed of secrets.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import json
import logging
import os
import re
import signal
import threading
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import anyio.to_thread
import httpx
from starlette.types import Message, Receive, Scope, Send

from contracts.conformance.clauses import CLAUSES
from contracts.conformance.report import ClauseResult, Report, to_junit_xml
from contracts.conformance.sse import parse_events
from contracts.conformance.traffic import REQUEST_SCHEMA_CLAUSE, judge_exchange
from mockserver.cassettes import (
    RECORDED_HEADERS,
    SCRUBBED,
    Cassette,
    CassetteRequest,
    CassetteResponse,
    RecordedEvent,
    Scrubber,
    credential_literals,
)

__all__ = [
    "VIOLATIONS_ROUTE",
    "ProxyReport",
    "ValidationProxy",
    "Violation",
    "build_parser",
    "outputs_problem",
    "proxy_uvicorn_config",
    "run_command",
    "serve_proxy",
    "shown_url",
    "upstream_problem",
]

log = logging.getLogger("mockserver.proxy")

VIOLATIONS_ROUTE = "/_proxy/violations"
LISTED_PER_CLAUSE = 100
"""Violations of one clause kept with their evidence in the report; the rest are counted only."""
MAX_JUDGED_BYTES = 4_000_000
"""Answers longer than this are forwarded but not judged or recorded."""

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


@dataclass(frozen=True, slots=True)
class Violation:
    """One contract clause broken by one exchange (secrets already scrubbed).

    Attributes:
        clause: the clause id.
        method: the request method.
        path: the request path.
        status: the upstream's status.
        request_id: the upstream's ``x-request-id`` (else the client's, else the proxy's number).
        evidence: what was wrong.
    """

    clause: str
    method: str
    path: str
    status: int
    request_id: str
    evidence: str
    level: str = "failed"

    def line(self) -> str:
        """The log line: clause, path, request id, evidence."""
        what = "contract violation" if self.level == "failed" else "contract warning"
        return (
            f"{what}: clause={self.clause} path={self.method} {self.path} "
            f"status={self.status} request_id={self.request_id}: {self.evidence}"
        )


@dataclass
class ProxyReport:
    """What the proxy saw: exchanges judged, violations, clauses exercised.

    Every violation is counted; the first :data:`LISTED_PER_CLAUSE` of each clause are kept with
    their evidence, so a proxy left running for days keeps a bounded report.
    """

    upstream: str
    exchanges: int = 0
    violations: list[Violation] = field(default_factory=list)
    unjudged: dict[str, int] = field(default_factory=dict)  # why an exchange could not be judged -> how often
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (clause, level) -> how many, listed or not

    def add(self, violations: Iterable[Violation]) -> None:
        """Count ``violations``; list those of a clause that has fewer than the limit listed."""
        for v in violations:
            listed = sum(n for (clause, _), n in self.counts.items() if clause == v.clause)
            self.counts[(v.clause, v.level)] = self.counts.get((v.clause, v.level), 0) + 1
            if listed < LISTED_PER_CLAUSE:
                self.violations.append(v)

    def _count(self, level: str | None = None, clause: str | None = None) -> int:
        return sum(
            n
            for (c, lv), n in self.counts.items()
            if (level is None or lv == level) and (clause is None or c == clause)
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (also what ``GET /_proxy/violations`` answers)."""
        by_clause: dict[str, int] = {}
        for (clause, _), n in self.counts.items():
            by_clause[clause] = by_clause.get(clause, 0) + n
        return {
            "upstream": self.upstream,
            "exchanges": self.exchanges,
            "count": self._count("failed"),
            "warnings": self._count("warning"),
            "unjudged": dict(sorted(self.unjudged.items())),
            "by_clause": dict(sorted(by_clause.items())),
            "violations": [asdict(v) for v in self.violations],
            "unlisted": self._count() - len(self.violations),
        }

    def to_report(self) -> Report:
        """The violations as a conformance :class:`Report` (one result per clause, for JUnit)."""
        results = []
        descriptions = {c.id: c.description for c in CLAUSES.values()}
        descriptions[REQUEST_SCHEMA_CLAUSE] = "Every chat request body matches chat-request"
        for clause_id, description in descriptions.items():
            found = [v for v in self.violations if v.clause == clause_id]
            failed, warned = self._count("failed", clause_id), self._count("warning", clause_id)
            more = failed + warned - len(found)
            tail = f"\n... and {more} more" if more > 0 else ""
            if warned and not failed:
                evidence = "\n".join(f"{v.method} {v.path} -> {v.status}: {v.evidence}" for v in found)
                results.append(
                    ClauseResult(clause_id, description, "warning", f"{warned} warning(s)\n{evidence}{tail}")
                )
            elif failed:
                evidence = "\n".join(
                    f"{v.method} {v.path} -> {v.status} (request id {v.request_id}): {v.evidence}" for v in found
                )
                results.append(
                    ClauseResult(clause_id, description, "failed", f"{failed + warned} violation(s)\n{evidence}{tail}")
                )
            else:
                results.append(
                    ClauseResult(clause_id, description, "passed", f"no violation in {self.exchanges} exchange(s)")
                )
        return Report(self.upstream, "(proxied traffic)", 0, self.exchanges, tuple(results))

    def write(self, path: Path) -> None:
        """Write the report: JUnit XML when ``path`` ends in ``.xml``, JSON otherwise."""
        if path.suffix.lower() == ".xml":
            text = to_junit_xml(self.to_report(), suite_name="ainative-proxy")
        else:
            text = json.dumps(self.to_dict(), indent=2) + "\n"
        path.write_text(text, encoding="utf-8")


class _Decoder:
    """Decode a content-encoded body for judging (the client still gets the raw bytes)."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        self.ok = encoding in ("", "identity", "gzip", "deflate", "x-gzip")
        self._deflate = encoding == "deflate"
        self._first = True
        wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits) if encoding in ("gzip", "x-gzip", "deflate") else None

    def feed(self, chunk: bytes) -> bytes:
        if not self.ok:
            return b""
        if self._zlib is None:
            return chunk
        first, self._first = self._first and bool(chunk), self._first and not chunk
        try:
            return self._zlib.decompress(chunk)
        except zlib.error:
            if first and self._deflate:  # "deflate" without its zlib header, as some servers send it
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(chunk)
            self.ok = False
            return b""


class _EventClock:
    """Split a decoded SSE byte stream into events, stamping each with its delay since the previous one."""

    def __init__(self, started: float) -> None:
        self._last = started
        self._buffer = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.events: list[RecordedEvent] = []

    def feed(self, chunk: bytes, now: float) -> None:
        text = self._buffer + self._decoder.decode(chunk)
        # a chunk may end between the "\r" and "\n" of one line end: keep a trailing "\r" for the next chunk
        held = "\r" if text.endswith("\r") else ""
        text = (text[:-1] if held else text).replace("\r\n", "\n").replace("\r", "\n")
        *blocks, rest = text.split("\n\n")
        self._buffer = rest + held
        for block in blocks:
            for event in parse_events(block + "\n\n"):
                self.events.append(RecordedEvent(event.data, (now - self._last) * 1000, event.event))
                self._last = now


def _unpatched_handler() -> Any:
    """httpx's own ``AsyncHTTPTransport.handle_async_request``, even while the in-process mock patches it."""
    from mockserver import intercept

    for cls, name, original in intercept._patched:
        if cls is httpx.AsyncHTTPTransport and name == "handle_async_request":
            return original
    return httpx.AsyncHTTPTransport.__dict__["handle_async_request"]


class _UpstreamTransport(httpx.AsyncHTTPTransport):
    """The network, always: a proxy recording from inside a test must reach the upstream, not the mock."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await _unpatched_handler()(self, request)
        return response


@dataclass(frozen=True, slots=True)
class _Answer:
    """One exchange in flight: what the client sent, and the upstream's answer as it began."""

    scope: Scope
    incoming: dict[str, str]  # the client's request headers, names lower-cased
    request_body: bytes
    upstream: httpx.Response
    headers: list[tuple[bytes, bytes]]  # the upstream's headers, passed on
    decoder: _Decoder
    started: float  # perf_counter when the request went upstream


class ValidationProxy:
    """ASGI app forwarding every request to ``upstream`` and judging every answer.

    Args:
        upstream: base URL of the real server, e.g. ``https://api.ainative.studio``.
        record: directory to write one cassette per exchange into (None: no recording).
        scrub: extra regular expressions whose matches never reach a cassette, log or report.
        timeout: seconds to wait for the upstream to connect and for each read.
        pool: keep connections to the upstream open between requests (per event loop); ``False`` opens
            and closes one per request, for a proxy served from short-lived event loops (in-process).
        upstream_name: where ``upstream`` came from, for the error message when it is not a base URL.

    Example:
        >>> proxy = ValidationProxy("http://127.0.0.1:8000")
        >>> proxy.report.to_dict()["count"]
        0
    """

    def __init__(
        self,
        upstream: str,
        *,
        record: Path | None = None,
        scrub: Sequence[str] = (),
        timeout: float = 300.0,
        pool: bool = True,
        upstream_name: str = "--upstream",
    ) -> None:
        problem = upstream_problem(upstream, upstream_name)
        if problem:
            raise ValueError(problem)
        self.upstream = upstream.rstrip("/")
        self.record = record
        self.scrubber = Scrubber(scrub)
        self.timeout = timeout
        self.pool = pool
        self.report = ProxyReport(shown_url(self.upstream))
        self.recorded: list[Path] = []
        self._written: set[Path] = set()
        self._lock = threading.Lock()
        self._numbers = count(1)
        self._clients: dict[int, httpx.AsyncClient] = {}

    # -- plumbing ---------------------------------------------------------------------------
    def _new_client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        transport = _UpstreamTransport(limits=limits)
        return httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False, trust_env=False)

    def _client(self) -> httpx.AsyncClient:
        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = self._new_client()
        return client

    async def aclose(self) -> None:
        """Close the upstream connection pool of the running event loop."""
        client = self._clients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == VIOLATIONS_ROUTE and scope["method"] == "GET":
            await self._send_json(send, 200, self.violations_document())
            return
        try:
            await self._forward(scope, receive, send)
        except asyncio.CancelledError:
            # the server is shutting down (Ctrl-C) with this exchange in flight: say so in one line, no traceback
            log.warning(
                "proxy: shut down with %s %s in flight: cut, neither judged nor recorded",
                scope["method"], self.scrubber.scrub(scope["path"]),
            )  # fmt: skip

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def violations_document(self) -> dict[str, Any]:
        """What ``GET /_proxy/violations`` answers."""
        with self._lock:
            return self.report.to_dict()

    @staticmethod
    async def _send_json(send: Send, status: int, payload: Any, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
        body = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    # -- forwarding -------------------------------------------------------------------------
    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        if body is None:  # the client left mid-body: a truncated request must not reach the upstream
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        url = self.upstream + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers = [
            (k, v)
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in (*_HOP_BY_HOP, "host", "content-length")
        ]
        incoming = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        client = self._client() if self.pool else self._new_client()
        try:
            await self._exchange(client, method, url, headers, body, scope, receive, send, incoming)
        finally:
            if not self.pool:
                await client.aclose()

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        scope: Scope,
        receive: Receive,
        send: Send,
        incoming: dict[str, str],
    ) -> None:
        started = time.perf_counter()
        try:
            request = client.build_request(method, url, headers=headers, content=body)
            upstream = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            message = f"proxy: the upstream did not answer: {type(exc).__name__}: {exc}"
            log.warning(self.scrubber.scrub(message))
            await self._send_json(
                send, 502, {"error": {"message": message, "type": "proxy_error", "code": "upstream_unreachable"}}
            )
            return
        try:
            out_headers = [(k, v) for k, v in upstream.headers.raw if k.decode("latin-1").lower() not in _HOP_BY_HOP]
            content_type = upstream.headers.get("content-type", "")
            decoder = _Decoder(upstream.headers.get("content-encoding", ""))
            answer = _Answer(scope, incoming, body, upstream, out_headers, decoder, started)
            if content_type.split(";")[0].strip().lower() == "text/event-stream":
                await self._pass_stream(send, receive, answer)
            else:
                await self._pass_whole(send, answer)
        finally:
            await upstream.aclose()

    async def _pass_whole(self, send: Send, answer: _Answer) -> None:
        upstream, decoder = answer.upstream, answer.decoder
        raw = bytearray()
        try:
            async for chunk in upstream.aiter_raw():
                raw.extend(chunk)
        except httpx.HTTPError as exc:
            message = f"proxy: the upstream broke off its answer: {type(exc).__name__}: {exc}"
            await self._send_json(
                send, 502, {"error": {"message": message, "type": "proxy_error", "code": "upstream_broke_off"}}
            )
            return
        decoded = decoder.feed(bytes(raw)) if decoder.ok else b""
        if not decoder.ok:
            self._unjudged(f"content-encoding {upstream.headers.get('content-encoding')!r} cannot be decoded")
            violations: list[Violation] = []
        else:
            # judging (JSON Schema, pure Python) and writing the cassette run in a worker thread: a long
            # answer must not freeze the event loop, and with it every other exchange in flight
            violations = await anyio.to_thread.run_sync(self._judge, answer, decoded, None)
        failed = sum(v.level == "failed" for v in violations)  # warnings are listed, not counted
        headers = [*answer.headers, (b"x-contract-violations", str(failed).encode())]
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": bytes(raw)})

    async def _pass_stream(self, send: Send, receive: Receive, answer: _Answer) -> None:
        upstream, decoder, scope = answer.upstream, answer.decoder, answer.scope
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": answer.headers})
        decoded = bytearray()
        clock = _EventClock(answer.started)
        complete = True
        client_gone = False
        async with anyio.create_task_group() as group:

            async def watch_disconnect() -> None:
                nonlocal client_gone
                while (await receive())["type"] != "http.disconnect":
                    pass
                client_gone = True  # stop reading: closing the upstream stream stops its generation (and bill)
                group.cancel_scope.cancel()

            group.start_soon(watch_disconnect)
            try:
                async for chunk in upstream.aiter_raw():
                    now = time.perf_counter()
                    try:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    except OSError:
                        client_gone = True
                        break
                    if decoder.ok and len(decoded) < MAX_JUDGED_BYTES:
                        piece = decoder.feed(chunk)
                        decoded.extend(piece)
                        clock.feed(piece, now)
            except httpx.HTTPError as exc:
                complete = False
                log.warning(self.scrubber.scrub(f"proxy: the upstream broke off a stream: {type(exc).__name__}: {exc}"))
            group.cancel_scope.cancel()
        # A cut stream is not the upstream's answer: neither judged nor recorded. A whole one is judged
        # (and recorded) before the end of the body goes out, so a client that saw the end sees the cassette.
        if client_gone or not complete:
            log.info(
                "%s %s -> %d, %s after %d event(s): neither judged nor recorded",
                scope["method"], self.scrubber.scrub(scope["path"]), upstream.status_code,
                "the client left" if client_gone else "the upstream broke off", len(clock.events),
            )  # fmt: skip
        elif not decoder.ok:
            self._unjudged(f"content-encoding {upstream.headers.get('content-encoding')!r} cannot be decoded")
        elif len(decoded) >= MAX_JUDGED_BYTES:
            self._unjudged(f"stream longer than {MAX_JUDGED_BYTES} bytes")
        else:
            events = tuple(clock.events)
            await anyio.to_thread.run_sync(self._judge, answer, bytes(decoded), events)
        if not client_gone and complete:
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        # when the upstream broke off, the response is left unfinished: the server drops the connection,
        # so the client sees the same broken stream the upstream sent, not a clean end

    # -- judging and recording --------------------------------------------------------------
    def _unjudged(self, reason: str) -> None:
        with self._lock:
            first = reason not in self.report.unjudged
            self.report.unjudged[reason] = self.report.unjudged.get(reason, 0) + 1
        if first:
            log.warning("proxy: forwarded but not judged nor recorded: %s", reason)

    def _judge(self, answer: _Answer, body: bytes, events: tuple[RecordedEvent, ...] | None) -> list[Violation]:
        scope, incoming, request_body, upstream = answer.scope, answer.incoming, answer.request_body, answer.upstream
        number = next(self._numbers)
        request_id = upstream.headers.get("x-request-id") or incoming.get("x-request-id") or f"proxy-{number}"
        scrubber = self.scrubber.with_literals(credential_literals(incoming))
        method, path = scope["method"], scrubber.scrub(scope["path"])  # a path can carry a key too
        findings = judge_exchange(method, scope["path"], request_body, upstream.status_code, upstream.headers, body)
        request_id = scrubber.scrub(request_id)
        status = upstream.status_code
        violations = [
            Violation(f.clause, method, path, status, request_id, scrubber.scrub(f.evidence), f.level) for f in findings
        ]
        with self._lock:
            self.report.exchanges += 1
            self.report.add(violations)
        written, again = None, False
        if self.record is not None:
            written, again = self._record(scrubber, method, path, request_body, upstream, body, events)
        failed = sum(v.level == "failed" for v in violations)
        shape = f"{len(events)} event(s)" if events is not None else f"{len(body)} byte(s)"
        log.info(
            "%s %s -> %d, %s, %d violation(s), %d warning(s), request_id=%s%s",
            method, path, status, shape, failed, len(violations) - failed, request_id,
            (f", recorded {written.name}" if written else "")
            + (" (replacing this session's earlier exchange with the same match values)" if again else ""),
        )  # fmt: skip
        for violation in violations:
            log.warning(violation.line())
        return violations

    def _record(
        self,
        scrubber: Scrubber,
        method: str,
        path: str,
        request_body: bytes,
        upstream: httpx.Response,
        body: bytes,
        events: tuple[RecordedEvent, ...] | None,
    ) -> tuple[Path | None, bool]:
        """Write the cassette; returns its path (None: not written) and whether this session wrote it before."""
        assert self.record is not None
        try:
            parsed: Any = json.loads(request_body) if request_body else None
        except ValueError:
            parsed = request_body.decode("utf-8", errors="replace")
        headers = {k.lower(): scrubber.scrub(v) for k, v in upstream.headers.items() if k.lower() in RECORDED_HEADERS}
        if events is not None:
            events = tuple(RecordedEvent(_scrub_text(scrubber, e.data), e.delay_ms, e.event) for e in events)
            response = CassetteResponse(upstream.status_code, headers, b"", events)
        else:
            text = _scrub_text(scrubber, body.decode("utf-8", errors="replace"))
            response = CassetteResponse(upstream.status_code, headers, text.encode("utf-8"))
        request = CassetteRequest(method, path, scrubber.scrub_value(parsed))
        try:
            written = Cassette(request, response).write(self.record)
        except OSError as exc:
            log.error("proxy: cannot write a cassette into %s: %s", self.record, exc)
            return None, False
        with self._lock:
            again = written in self._written
            self._written.add(written)
            self.recorded.append(written)
        return written, again


def _scrub_text(scrubber: Scrubber, text: str) -> str:
    """Scrub ``text``; JSON text is scrubbed value by value so it stays JSON (and unchanged if clean)."""
    try:
        value = json.loads(text)
    except ValueError:
        return scrubber.scrub(text)
    clean = scrubber.scrub_value(value)
    if clean == value:
        return text
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"))


def shown_url(url: str) -> str:
    """``url`` fit for a log or report: a password in it (``https://user:pass@host``) is scrubbed."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return url if "@" not in url else SCRUBBED
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{SCRUBBED}@{host}"))


def upstream_problem(upstream: str, name: str = "--upstream") -> str | None:
    """What is wrong with an ``--upstream`` URL (``name`` says where it came from), or None when it is usable."""
    shown = shown_url(upstream)
    try:
        url = httpx.URL(upstream)
    except (httpx.InvalidURL, TypeError) as exc:
        return f"{name} {shown!r} is not a URL: {exc}"
    if url.scheme not in ("http", "https") or not upstream.startswith(("http://", "https://")):
        return f"{name} must start with http:// or https://, got {shown!r}"
    if not url.host:
        return f"{name} {shown!r} names no host"
    if url.query or url.fragment:
        return f"{name} {shown!r}: a base URL has no query or fragment (the proxy appends each request's)"
    return None


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client left before sending it all."""
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def serve_proxy(
    upstream: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    record: Path | None = None,
    report: Path | None = None,
    scrub: Sequence[str] = (),
    log_level: str = "info",
) -> int:
    """Run the proxy in the foreground until interrupted; write ``report`` at exit. Returns the exit status."""
    import sys

    import uvicorn

    from mockserver.server import listening_socket

    proxy = ValidationProxy(upstream, record=record, scrub=scrub)
    problem = outputs_problem(record, report)
    if problem:  # found now, not after an hour of traffic
        sys.stderr.write(f"ainative-mock proxy: {problem}\n")
        return 1
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        sys.stderr.write(f"ainative-mock proxy: cannot bind {host}:{port}: {exc.strerror}\n")
        return 1
    sock.listen(2048)  # accept connections (queued) from the moment the address is printed
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    sys.stdout.write(
        f"AINative validation proxy listening on http://{shown}:{bound} -> {shown_url(proxy.upstream)}\n"
        f"  violations: http://{shown}:{bound}{VIOLATIONS_ROUTE}"
        + (f"   recording into {record}" if record else "")
        + (f"   report at exit: {report}" if report else "")
        + "\n"
    )
    sys.stdout.flush()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # httpx logs each upstream URL with its query string, which may carry a key: the proxy logs its own lines
    logging.getLogger("httpx").setLevel(logging.WARNING)
    server = uvicorn.Server(proxy_uvicorn_config(proxy, host, bound, log_level))
    previous = signal.signal(signal.SIGTERM, _interrupt)  # uvicorn re-raises it after a graceful shutdown
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM: a normal end of a proxy session
    finally:
        signal.signal(signal.SIGTERM, previous)
        written = _write_report(proxy, report)
    return 0 if written else 1


def outputs_problem(record: Path | None, report: Path | None) -> str | None:
    """Why the record directory or the report file cannot be written (checked before serving), or None."""
    if record is not None:
        try:
            record.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"--record {record}: cannot create the directory: {exc.strerror or exc}"
        if not os.access(record, os.W_OK | os.X_OK):
            return f"--record {record}: the directory is not writable"
    if report is not None:
        if report.is_dir():
            return f"--report {report}: is a directory, expected a file name"
        folder = report.parent
        if not folder.is_dir():
            return f"--report {report}: the directory {folder} does not exist"
        if not os.access(folder, os.W_OK | os.X_OK) or (report.exists() and not os.access(report, os.W_OK)):
            return f"--report {report}: not writable"
    return None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _write_report(proxy: ValidationProxy, report: Path | None) -> bool:
    if report is None:
        return True
    try:
        proxy.report.write(report)
    except OSError as exc:
        import sys

        sys.stderr.write(f"ainative-mock proxy: cannot write the report {report}: {exc}\n")
        return False
    return True


def proxy_uvicorn_config(proxy: ValidationProxy, host: str, port: int, log_level: str = "warning") -> Any:
    """uvicorn settings of the proxy: no ``server``/``date`` headers of its own, lifespan on (closes the pool)."""
    import uvicorn

    return uvicorn.Config(
        proxy,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=1,
    )


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression: {text!r} ({exc})") from None
    return text


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the ``proxy`` options to ``parser`` (or a new parser) and return it."""
    parser = parser or argparse.ArgumentParser(prog="ainative-mock proxy")
    parser.add_argument(
        "--upstream", required=True, metavar="URL", help="the real API, e.g. https://api.ainative.studio"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one (default 8080)")
    parser.add_argument("--record", type=Path, metavar="DIR", help="write one cassette per exchange into DIR")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write the violations at exit: JUnit XML if FILE ends in .xml, else JSON",
    )
    parser.add_argument(
        "--scrub", type=_regex, action="append", default=[], metavar="REGEX",
        help="also remove matches of REGEX from cassettes, logs and reports (repeatable); keys, JWTs, "
        "Authorization and cookies are always removed",
    )  # fmt: skip
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Run ``proxy`` for parsed ``args``; returns the exit status."""
    import sys

    problem = upstream_problem(str(args.upstream))
    if problem:
        sys.stderr.write(f"ainative-mock proxy: {problem}\n")
        return 2
    return serve_proxy(
        args.upstream, host=args.host, port=args.port, record=args.record, report=args.report,
        scrub=args.scrub, log_level=args.log_level,
    )  # fmt: skip
