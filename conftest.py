"""Repository-wide pytest configuration (the kit's own plugins load from their entry points)."""

# pytester: the plugin tests drive pytest in subprocesses; redis_server: a real redis-server, for any test
pytest_plugins = ["pytester", "tests.support.redis_server"]
