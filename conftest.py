"""Repository-wide pytest configuration (the kit's own plugin is loaded from its entry point)."""
