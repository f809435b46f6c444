"""Helpers shared by the test folders, imported normally (``from tests.support.checks import ...``).

==================== =====================================================================
module               holds
==================== =====================================================================
``chat``             test keys, routes, request headers and chat request bodies
``checks``           contract checks of any response of the mock, SSE parsing and grammar
``mocks``            in-process and served mocks for tests (over ``mockserver.testing``)
``raw_http``         HTTP/1.1 on a plain socket: every byte, chunk framing, arrival times
``server_insides``   the served mock's event loop, connections, log records, RSS, polling
``reference_server`` a minimal server that meets the contract, and its broken variants
``serve``            ``ainative-mock serve`` in a subprocess, its workers and their clients
``redis_server``     a real ``redis-server`` as fixtures (a plugin of the root conftest)
==================== =====================================================================
"""
