"""A faithful mock of the AINative Chat Completions API (Starlette), its CLI and pytest plugin."""
