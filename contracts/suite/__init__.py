"""The conformance clauses as a pytest suite, for CI.

Run::

    pytest --pyargs contracts.suite --ainative-base-url URL --ainative-api-key KEY

One test per clause (``test_clause[stream.grammar]``...). The checks run once per session (once
in the xdist controller under ``-n``), within the request budget; each test reports its clause.
"""
