"""``python -m mockserver`` is ``ainative-mock``."""

from mockserver.cli import main

raise SystemExit(main())
