"""The kit's test suite. A package so that ``tests.support`` imports normally (the pytest config puts
the repository root on ``sys.path``); the test folders themselves are namespace packages."""
