"""Mocks for tests, with or without pytest: in-process (:class:`InProcessMock`) or on a socket (:class:`ServedMock`).

Both share :class:`MockController`: the control operations of the mock as Python methods,
and the journal of requests to assert on.

Example:
    >>> with InProcessMock() as mock:
    ...     mock.reply("Hi there")
    ...     client = mock.httpx_client()
    ...     answer = client.post("/v1/public/chat/completions", headers=mock.headers,
    ...                          json={"messages": [{"role": "user", "content": "Hello"}]}).json()
    ...     answer["choices"][0]["message"]["content"], mock.count(status=200)
    ('Hi there', 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import httpx

from mockserver.app import AINativeMock
from mockserver.config import MockConfig
from mockserver.faults import Fault
from mockserver.intercept import Interceptor
from mockserver.journal import JournalEntry
from mockserver.matching import explain_mismatch, matching
from mockserver.netguard import NetworkGuard
from mockserver.server import ServerThread
from mockserver.state import MockState
from mockserver.transports import AsyncASGITransport, SyncASGITransport

if TYPE_CHECKING:
    import httpx2
    import openai

__all__ = [
    "CLEARED_ENV",
    "DEFAULT_TEST_KEY",
    "PRODUCTION_HOSTS",
    "PRODUCTION_URL",
    "InProcessMock",
    "MockController",
    "ServedMock",
    "UnexpectedRequestsError",
    "UnusedMockError",
]

DEFAULT_TEST_KEY = "ak_mock_0000000000000001"
"""The valid API key the fixtures hand out (``mock.api_key``)."""
PRODUCTION_URL = "https://api.ainative.studio"
PRODUCTION_HOSTS = ("api.ainative.studio", "staging-api.ainative.studio")
"""AINative's API hosts (production and staging): an in-process mock answers for them."""
IN_PROCESS_URL = "http://ainative-mock.test"
"""Base URL of an in-process mock: a reserved ``.test`` name, so a client that is not intercepted fails fast."""
CLEARED_ENV = ("AINATIVE_API_SECRET", "AINATIVE_ORG_ID", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "OPENAI_ADMIN_KEY")
"""Variables the clients read that the fixtures unset for the test: real credentials and account
headers (ainative-python signs requests with ``AINATIVE_API_SECRET``) never reach a mock."""


class UnusedMockError(AssertionError):
    """Replies or faults were queued for a test and never used.

    Example:
        >>> from mockserver import InProcessMock
        >>> with InProcessMock() as mock:
        ...     mock.reply("never asked for")
        ...     mock.assert_all_used()
        Traceback (most recent call last):
        ...
        mockserver.testing.UnusedMockError: the AINative mock had queued items that no request used:
        ...

    """


class UnexpectedRequestsError(AssertionError):
    """An in-process mock with ``pass_through=False`` refused requests for other hosts.

    Example:
        >>> import httpx
        >>> with InProcessMock(pass_through=False) as mock:
        ...     try:
        ...         httpx.get("http://localhost:9/")
        ...     except httpx.ConnectError:
        ...         pass
        ...     mock.assert_all_expected()
        Traceback (most recent call last):
        ...
        mockserver.testing.UnexpectedRequestsError: the AINative mock refused 1 request(s) for hosts it does not serve:
          GET http://localhost:9/
        ...

    """


class MockController:
    """Control and journal of one mock, whatever serves it.

    Attributes:
        mock: the :class:`~mockserver.app.AINativeMock` (its ``app`` and ``state``).
        base_url: root URL of the mock (``/v1/public/chat/completions`` etc. live under it).
        api_key: a valid API key.
    """

    def __init__(self, mock: AINativeMock, base_url: str, api_key: str = DEFAULT_TEST_KEY) -> None:
        self.mock = mock
        self.base_url = base_url
        self.api_key = api_key
        self._closers: list[Any] = []

    def close_clients(self) -> None:
        """Close the synchronous clients this mock handed out (the fixtures do it at teardown)."""
        while self._closers:
            self._closers.pop()()

    @property
    def state(self) -> MockState:
        """The mock's :class:`~mockserver.state.MockState` (ledger, limiter, queues, journal)."""
        return self.mock.state

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/api/v1"``: what an OpenAI-compatible client takes as ``base_url``."""
        return self.base_url + "/api/v1"

    @property
    def headers(self) -> dict[str, str]:
        """Headers authenticating as :attr:`api_key` (``X-API-Key``)."""
        return {"X-API-Key": self.api_key}

    def env(self) -> dict[str, str]:
        """Environment variables pointing clients at this mock (what the fixtures set for a test).

        ``AINATIVE_BASE_URL`` and ``OPENAI_BASE_URL`` are the ``/api/v1`` base (what the openai SDK
        and ``ainative-openai`` take); ``AINATIVE_API_KEY`` and ``OPENAI_API_KEY`` are :attr:`api_key`.
        The fixtures also unset :data:`CLEARED_ENV`.
        """
        return {
            "AINATIVE_BASE_URL": self.openai_base_url,
            "AINATIVE_API_KEY": self.api_key,
            "OPENAI_BASE_URL": self.openai_base_url,
            "OPENAI_API_KEY": self.api_key,
        }

    # -- control -------------------------------------------------------------------------
    def configure(self, **settings: Any) -> None:
        """Change runtime settings (same names as ``ainative-mock serve`` options: ``rpm=5``, ...)."""
        self.mock.state.update_config(settings)

    def set_key(self, key: str, **settings: Any) -> None:
        """Set one key's ``credits``, ``plan``, ``rpm``, ``tpm`` or ``unlimited``: the way to set credits.

        Example:
            >>> with InProcessMock() as mock:
            ...     mock.set_key(mock.api_key, credits=5, plan="free")
            ...     mock.balance()["total_credits"], mock.balance()["plan"]
            (5, 'free')
        """
        self.mock.state.set_key(key, **settings)

    def set_credits(self, credits: int, key: str | None = None) -> None:
        """Shorthand for :meth:`set_key` ``(key, credits=credits)``; with no key, every key's balance."""
        self.mock.state.set_credits(credits, key)

    def fail_next(
        self, status: int, times: int = 1, retry_after: int | None = None, *, model: str | None = None
    ) -> Fault:
        """Answer the next ``times`` chat requests with HTTP ``status`` (and ``Retry-After``)."""
        fault: Fault = self.mock.state.fail_next(status, times, retry_after, model=model)
        return fault

    def queue_fault(self, name: str, times: int = 1, **params: Any) -> Fault:
        """Give fault ``name`` to the next ``times`` matching requests (``model=``, ``route=``, fault params)."""
        fault: Fault = self.mock.state.queue_fault(name, times, **params)
        return fault

    def reply(self, text: str | None = None, *, tool_call: Mapping[str, Any] | None = None) -> None:
        """Script the next reply: ``text``, or ``tool_call={"name": ..., "arguments": {...}}``."""
        self.mock.state.reply(text, tool_call=tool_call)

    def model_unavailable(self, model: str, unavailable: bool = True) -> None:
        """Make ``model`` answer 503 (``unavailable=False`` serves it again)."""
        self.mock.state.model_unavailable(model, unavailable)

    def reset(self) -> None:
        """Back to the starting config, with an empty journal and full balances."""
        self.mock.state.reset()

    def balance(self, key: str | None = None) -> dict[str, Any]:
        """The credits-balance body of ``key`` (default :attr:`api_key`)."""
        balance: dict[str, Any] = self.mock.state.ledger.balance(key or self.api_key)
        return balance

    # -- journal -------------------------------------------------------------------------
    @property
    def requests(self) -> list[JournalEntry]:
        """Every request the mock answered, oldest first (method, path, body, status, ...)."""
        entries: list[JournalEntry] = self.mock.state.requests()
        return entries

    @property
    def last_request(self) -> JournalEntry:
        """The most recent request; AssertionError if there was none."""
        entries = self.requests
        if not entries:
            raise AssertionError("the AINative mock received no request")
        return entries[-1]

    def count(self, **filters: Any) -> int:
        """How many journal entries match every given filter (the filters of :meth:`assert_requested`)."""
        return len(matching(self.requests, filters))

    def assert_requested(self, count: int | None = None, **filters: Any) -> list[JournalEntry]:
        """Assert the mock received ``count`` requests (default: at least one) matching ``filters``.

        Filters: ``path``, ``method``, ``model``, ``status``, ``stream``, ``key`` (the full key),
        ``fault`` (a fault name, or None), ``body`` (a mapping of top-level body fields). On failure
        the AssertionError lists the closest requests that did arrive and what differs in each.

        Returns:
            the matching journal entries, oldest first.

        Example:
            >>> mock = InProcessMock().start()
            >>> client = mock.httpx_client(headers=mock.headers)
            >>> body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}
            >>> _ = client.post("/v1/chat/completions", json=body)
            >>> [entry.status for entry in mock.assert_requested(1, model="gpt-4o", body={"model": "gpt-4o"})]
            [200]
            >>> mock.assert_requested(status=402)
            Traceback (most recent call last):
            ...
            AssertionError: expected at least one request(s) matching status=402; 0 matched
            closest of the 1 request(s) received:
              #1 POST /v1/chat/completions -> 200 (model=gpt-4o, stream=False): status: expected 402, got 200
            >>> mock.stop()
        """
        entries = self.requests
        matched = matching(entries, filters)
        if (len(matched) >= 1) if count is None else (len(matched) == count):
            return matched
        wanted = "at least one" if count is None else f"exactly {count}"
        raise AssertionError(explain_mismatch(entries, filters, wanted, matched))

    def get_request(self, **filters: Any) -> JournalEntry:
        """The one request matching ``filters`` (as :meth:`assert_requested`); AssertionError if none or several."""
        entries = self.requests
        matched = matching(entries, filters)
        if len(matched) != 1:
            raise AssertionError(explain_mismatch(entries, filters, "exactly one", matched))
        return matched[0]

    def pending(self) -> dict[str, Any]:
        """Replies and faults queued and not used yet."""
        pending: dict[str, Any] = self.mock.state.pending()
        return pending

    def assert_all_used(self) -> None:
        """Raise :class:`UnusedMockError` if queued replies or faults were never used."""
        pending = self.pending()
        if not pending["replies"] and not pending["faults"]:
            return
        lines = ["the AINative mock had queued items that no request used:"]
        lines += [f"  reply: {reply!r}" for reply in pending["replies"]]
        lines += [f"  fault: {fault}" for fault in pending["faults"]]
        seen = self.requests
        lines.append(f"requests received ({len(seen)}):" if seen else "requests received: none")
        lines += [f"  {e.method} {e.path} -> {e.status} (model={e.model}, stream={e.stream})" for e in seen]
        lines.append("(opt out with @pytest.mark.ainative_mock(check_unused=False))")
        raise UnusedMockError("\n".join(lines))


class InProcessMock(MockController):
    """A mock served in-process: no socket.

    While started, every httpx and httpx2 request for :attr:`base_url`'s host or an AINative API
    host (:data:`PRODUCTION_HOSTS`) is served by the mock, whichever client sends it: the ready
    clients below, and the ones the code under test builds (``openai.OpenAI()``, ``httpx.post``,
    ``ainative-openai``, ``ainative-agent``, ``ainative-python``). See :mod:`mockserver.intercept`.
    Requests for other hosts go to the network (``pass_through=False`` makes them fail instead).
    A :class:`~mockserver.netguard.NetworkGuard` stops any other library (requests, urllib3, aiohttp,
    raw sockets) from reaching an ``ainative.studio`` host, unless ``allow_live=True``.

    Args:
        config: the mock's startup settings (default: :class:`~mockserver.config.MockConfig` defaults).
        api_key: the valid key of :attr:`headers` and the ready clients.
        intercept: extra hosts (or URLs) served in-process, besides :data:`PRODUCTION_HOSTS`.
        pass_through: send requests for other hosts to the network (default) or refuse them.
        allow_live: do not guard the production hosts (their httpx requests are still served here).
        name: how errors name this mock (the fixture says ``ainative_mock``).

    Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Example:
        >>> import openai
        >>> with InProcessMock() as mock:
        ...     mock.reply("Served in-process")
        ...     client = openai.OpenAI(base_url="https://api.ainative.studio/api/v1", api_key=mock.api_key)
        ...     reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
        ...     reply.choices[0].message.content
        'Served in-process'
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        api_key: str = DEFAULT_TEST_KEY,
        intercept: Iterable[str] = (),
        *,
        pass_through: bool = True,
        allow_live: bool = False,
        name: str = "InProcessMock",
    ) -> None:
        super().__init__(AINativeMock(config), IN_PROCESS_URL, api_key)
        self._sync_transport = SyncASGITransport(self.mock.app)
        hosts = [urlsplit(url).hostname or url for url in (IN_PROCESS_URL, *PRODUCTION_HOSTS, *intercept)]
        self.interceptor = Interceptor(self.mock.app, hosts, pass_through=pass_through)
        self._guard = None if allow_live else NetworkGuard(name)

    def start(self) -> InProcessMock:
        """Start intercepting httpx/httpx2 requests (and guarding production hosts)."""
        if self._guard is not None:
            self._guard.start()
        self.interceptor.start()
        return self

    def stop(self) -> None:
        """Stop intercepting and close the clients this mock handed out."""
        self.interceptor.stop()
        if self._guard is not None:
            self._guard.stop()
        self.close_clients()
        self._sync_transport.close()

    def __enter__(self) -> InProcessMock:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def assert_all_expected(self) -> None:
        """Raise :class:`UnexpectedRequestsError` listing requests refused under ``pass_through=False``."""
        refused = self.interceptor.unexpected
        if refused:
            lines = [f"the AINative mock refused {len(refused)} request(s) for hosts it does not serve:"]
            lines += [f"  {request}" for request in refused]
            lines.append("(allow them with @pytest.mark.ainative_mock(pass_through=True))")
            raise UnexpectedRequestsError("\n".join(lines))

    def httpx_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` on :attr:`base_url`, served in-process. The mock closes it at :meth:`stop`."""
        client = httpx.Client(base_url=self.base_url, transport=self._sync_transport, **kwargs)
        self._closers.append(client.close)
        return client

    def async_httpx_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on :attr:`base_url`, served in-process.

        The test closes it (``async with``); left open, it holds no connection (no socket is involved).
        """
        return httpx.AsyncClient(base_url=self.base_url, transport=AsyncASGITransport(self.mock.app), **kwargs)

    def openai_client(self, **kwargs: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` wired to this mock in-process. The mock closes it at :meth:`stop`.

        Any ``openai.OpenAI(base_url=mock.openai_base_url)`` is served too while the mock runs; this
        one also works before :meth:`start`.
        """
        import httpx2
        import openai

        transport = SyncASGITransport(self.mock.app, http=httpx2)  # duck-typed: same API as httpx2's
        http_client = httpx2.Client(transport=cast("httpx2.BaseTransport", transport), base_url=self.base_url)
        self._closers += [transport.close, http_client.close]
        kwargs.setdefault("api_key", self.api_key)
        return openai.OpenAI(base_url=self.openai_base_url, http_client=http_client, **kwargs)

    def async_openai_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` wired to this mock in-process.

        The test closes it (``async with``); left open, it holds no connection.
        """
        import httpx2
        import openai

        transport = AsyncASGITransport(self.mock.app, http=httpx2)
        http_client = httpx2.AsyncClient(transport=cast("httpx2.AsyncBaseTransport", transport), base_url=self.base_url)
        kwargs.setdefault("api_key", self.api_key)
        return openai.AsyncOpenAI(base_url=self.openai_base_url, http_client=http_client, **kwargs)


class ServedMock(MockController):
    """A mock on a real socket (uvicorn on ``127.0.0.1``, a free port), for any client.

    Example:
        >>> import httpx
        >>> with ServedMock() as served:
        ...     served.base_url.startswith("http://127.0.0.1:"), httpx.get(served.base_url + "/health").status_code
        (True, 200)

    """

    def __init__(self, config: MockConfig | None = None, api_key: str = DEFAULT_TEST_KEY) -> None:
        mock = AINativeMock(config)
        self.server = ServerThread(mock.app)
        super().__init__(mock, self.server.base_url, api_key)

    def start(self) -> ServedMock:
        """Start serving."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Close the clients handed out and stop serving."""
        self.close_clients()
        self.server.stop()

    def __enter__(self) -> ServedMock:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def httpx_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` on :attr:`base_url` (real connections).

        Closed by :meth:`close_clients`: at the end of the test under ``ainative_server``, else at :meth:`stop`.
        """
        client = httpx.Client(base_url=self.base_url, **kwargs)
        self._closers.append(client.close)
        return client

    def async_httpx_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on :attr:`base_url` (real connections). The test closes it (``async with``)."""
        return httpx.AsyncClient(base_url=self.base_url, **kwargs)

    def openai_client(self, **kwargs: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` on this server. Closed like :meth:`httpx_client`."""
        import openai

        kwargs.setdefault("api_key", self.api_key)
        client = openai.OpenAI(base_url=self.openai_base_url, **kwargs)
        self._closers.append(client.close)
        return client

    def async_openai_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` on this server. The test closes it (``async with``)."""
        import openai

        kwargs.setdefault("api_key", self.api_key)
        return openai.AsyncOpenAI(base_url=self.openai_base_url, **kwargs)
