"""Shared state in Redis, for several workers serving one mock (``serve --workers N --state redis://…``).

Each module mirrors the in-memory one it replaces, with the same methods and meaning:
:mod:`~mockserver.shared.ledger` (credits), :mod:`~mockserver.shared.ratelimit` (token buckets),
:mod:`~mockserver.shared.faults` (fault queue, seeded faults), :mod:`~mockserver.shared.journal`
(a capped stream) and :mod:`~mockserver.shared.settings` (runtime config, outages, scripted replies).
Every read-modify-write is one Lua script or one ``MULTI`` transaction.
"""

from mockserver.shared.store import StateUnavailable, Store, parse_state_url

__all__ = ["StateUnavailable", "Store", "parse_state_url"]
