"""pytest plugin of ainative-contract-kit (registered through the ``pytest11`` entry point)."""
