"""Repository-wide pytest configuration (the kit's own plugins load from their entry points)."""

pytest_plugins = ["pytester"]  # the plugin tests drive pytest in subprocesses
