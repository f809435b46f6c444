"""Fixtures of the shared-state tests: a :class:`Store` on fakeredis and on the real ``redis-server``.

The real server's fixtures (``redis_server``, ``redis_url``, ``durable_redis``) are in
``tests/support/redis_server.py``, loaded for every test directory by the root conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import fakeredis
import pytest

from mockserver.shared.store import Store


@pytest.fixture(params=["fakeredis", "redis-server"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A :class:`Store` on fakeredis and on the real redis-server: each promise is shown on both."""
    if request.param == "fakeredis":
        made = Store("redis://fake:6379/0", client=fakeredis.FakeRedis(decode_responses=True))
    else:
        made = Store(request.getfixturevalue("redis_url"))
    yield made
    made.close()
