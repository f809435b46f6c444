"""The chat pipeline on shared state: Redis work batched, and one Redis step per plain request.

:class:`SharedChatEndpoint` is :class:`~mockserver.chat.ChatEndpoint` with the steps that touch
Redis replaced by versions that await it through the worker's batching connection (see
:mod:`mockserver.shared.batch`) instead of blocking the event loop on a round trip each: while
one request waits, the worker goes on with the others, and their commands share a write.

A non-streamed answer (the common case) makes one step in Redis: its reservation and its journal
entry go in one script (:data:`RESERVE_AND_RECORD`), the answer built before it (nothing in it
depends on the balance but the reservation's own amount). If the key cannot pay, the request
gets its 402 and the prepared answer is dropped, as it would never have been built. The account
(plan, limits, period) is remembered between change notices (:mod:`mockserver.shared.changes`).
Streams, replays and the managed routes (whose answer shows the balance after the charge) reserve
first, as in memory. Every answer is the in-memory pipeline's.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from starlette.responses import Response

from mockserver.chat import MANAGED_ROUTES, Answer, ChatCall, ChatEndpoint, Step
from mockserver.journal import JournalEntry
from mockserver.ledger import MICRO, Reservation
from mockserver.responses import json_response
from mockserver.shared.journal import RECORD_LUA, RedisJournal
from mockserver.shared.ledger import RESERVE_LUA, RedisLedger
from mockserver.shared.state import SharedMockState

__all__ = ["RESERVE_AND_RECORD", "SharedChatEndpoint"]

RESERVE_AND_RECORD = (
    RESERVE_LUA
    + RECORD_LUA
    + """
local r = reserve()
if r[1] == 1 then
  r[4] = record(KEYS[6], KEYS[7], KEYS[8], ARGV[6], ARGV[7], ARGV[8])
end
return r
"""
)
"""One Redis step for a non-streamed answer: ``reserve()`` and, if the key could pay, ``record()``."""


class SharedChatEndpoint(ChatEndpoint):
    """The chat endpoint of a mock on :class:`~mockserver.shared.state.SharedMockState`."""

    def __init__(self, state: SharedMockState) -> None:
        super().__init__(state)
        self.ledger: RedisLedger = state.shared_ledger
        self.journal: RedisJournal = state.shared_journal
        self._recorded: set[int] = set()  # ids of entries the reservation script wrote

    async def load_account(self, call: ChatCall) -> Response | None:
        """As :meth:`ChatEndpoint.load_account`, the account read batched (or remembered)."""
        assert call.identity is not None
        config = self.state.config
        account = call.account = await self.ledger.aaccount(call.identity.account)
        call.rpm = account.rpm if account.rpm is not None else config.rpm
        call.tpm = account.tpm if account.tpm is not None else config.tpm
        return None

    def _in_one_step(self, call: ChatCall) -> bool:
        return not call.stream and call.cassette is None and call.path not in MANAGED_ROUTES

    async def reserve_credits(self, call: ChatCall) -> Response | None:
        """As :meth:`ChatEndpoint.reserve_credits`, batched; a plain answer reserves in :meth:`respond`."""
        if self._in_one_step(call) and self.ledger.store.batch is not None:
            return None
        assert call.identity is not None
        assert call.account is not None
        cost = self.cost(call)
        call.reservation = await self.ledger.areserve(call.identity.account, cost, call.account.period)
        if call.reservation is None:
            return self.error(call, 402, "Insufficient credits")
        return None

    async def respond(self, call: ChatCall) -> Answer:
        """As :meth:`ChatEndpoint.respond`; a plain answer is reserved for and journaled in one step."""
        if call.reservation is not None or not self._in_one_step(call):
            answer: Any = super().respond(call)
            return await answer if inspect.isawaitable(answer) else answer  # type: ignore[no-any-return]
        assert call.identity is not None
        assert call.account is not None
        key, cost, period = call.identity.account, self.cost(call), call.account.period
        call.reservation = Reservation(key, cost, period)  # the answer shows the amount only
        response = json_response(
            self._completion(call, call.completion_id, int(time.time())), 200, call.request_id, call.reply_headers
        )
        entry = call.entry
        entry.charged, entry.response = cost / MICRO, bytes(response.body)
        self._stamp(entry, 200)
        keys, args = self.journal.record_args(entry, response_is_json=True)
        reservation, added = await self.ledger.areserve_and(
            key, cost, period, ("ledger_reserve_and_record", RESERVE_AND_RECORD), [len(keys), *keys, *args]
        )
        if reservation is None:  # the key cannot pay: its 402, journaled as any other answer
            call.reservation, entry.charged, entry.response = None, 0.0, None
            return self.error(call, 402, "Insufficient credits")
        call.reservation = reservation
        self._recorded.add(id(entry))
        self.journal.recorded(entry, int(added[0]))
        if call.scripted is not None:  # used only by a request that is answered
            self.state.consume_scripted(call.scripted)
        return response

    def _finish(self, entry: JournalEntry, status: int) -> None:
        if id(entry) in self._recorded:  # written with its reservation
            self._recorded.discard(id(entry))
            return
        super()._finish(entry, status)


_BATCHED: dict[str, Step] = {
    "load_account": SharedChatEndpoint.load_account,  # type: ignore[dict-item]
    "reserve_credits": SharedChatEndpoint.reserve_credits,  # type: ignore[dict-item]
    "respond": SharedChatEndpoint.respond,  # type: ignore[dict-item]
}
SharedChatEndpoint.steps = tuple(_BATCHED.get(step.__name__, step) for step in ChatEndpoint.steps)
