"""The chat pipeline on shared state: the account and the reservation go out batched.

:class:`SharedChatEndpoint` is :class:`~mockserver.chat.ChatEndpoint` with two steps replaced by
versions that await Redis through the worker's batching connection (see
:mod:`mockserver.shared.batch`) instead of blocking the event loop on a round trip each: while one
request waits for its account, the worker goes on with the others, and their commands share a
write. Everything else, and every answer, is the in-memory pipeline's.
"""

from __future__ import annotations

from starlette.responses import Response

from mockserver.chat import ChatCall, ChatEndpoint, Step
from mockserver.ledger import micro
from mockserver.shared.ledger import RedisLedger
from mockserver.shared.state import SharedMockState

__all__ = ["SharedChatEndpoint"]


class SharedChatEndpoint(ChatEndpoint):
    """The chat endpoint of a mock on :class:`~mockserver.shared.state.SharedMockState`."""

    def __init__(self, state: SharedMockState) -> None:
        super().__init__(state)
        self.ledger: RedisLedger = state.shared_ledger

    async def load_account(self, call: ChatCall) -> Response | None:
        """As :meth:`ChatEndpoint.load_account`, the account read batched."""
        assert call.identity is not None
        config = self.state.config
        account = call.account = await self.ledger.aaccount(call.identity.account)
        call.rpm = account.rpm if account.rpm is not None else config.rpm
        call.tpm = account.tpm if account.tpm is not None else config.tpm
        return None

    async def reserve_credits(self, call: ChatCall) -> Response | None:
        """As :meth:`ChatEndpoint.reserve_credits`, the reservation batched."""
        assert call.identity is not None
        assert call.model is not None
        assert call.account is not None
        cost = micro(call.usage["total_tokens"] * call.model.price)
        call.reservation = await self.ledger.areserve(call.identity.account, cost, call.account.period)
        if call.reservation is None:
            return self.error(call, 402, "Insufficient credits")
        return None


_BATCHED: dict[str, Step] = {
    "load_account": SharedChatEndpoint.load_account,  # type: ignore[dict-item]
    "reserve_credits": SharedChatEndpoint.reserve_credits,  # type: ignore[dict-item]
}
SharedChatEndpoint.steps = tuple(_BATCHED.get(step.__name__, step) for step in ChatEndpoint.steps)
