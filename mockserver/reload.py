"""Hot reload: ``serve --config FILE --watch`` applies the file's changes as soon as it is saved.

Models, reply rules, keys, faults and runtime settings change; the ledger and the journal are
kept; streams already open go on as planned (a stream is built before its first byte). A file that
does not parse, or holds a value the mock cannot use, is refused with one log line and the
previous config stays in force. Settings that need a restart (host, port, CORS origins, admin
token, journal size, log level) are reported and left as they are.

Only what changed *in the file* is applied, so a setting changed at run time through
``PUT /_mock/config`` (or the inspector) keeps its value until the file itself changes it. The
command line and the environment still win over the file.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mockserver.config import ConfigError, MockConfig, load_config
from mockserver.state import RUNTIME_SETTINGS, MockState

__all__ = ["ConfigReloader"]


def _stderr(line: str) -> None:
    sys.stderr.write(f"ainative-mock: {line}\n")
    sys.stderr.flush()


class ConfigReloader:
    """Re-reads ``path`` and applies what changed to ``state``.

    Args:
        state: the running mock's state.
        path: the config file.
        loaded: the config the server started with (from the same sources).
        cli: the command-line values (they keep winning over the file).
        env: the environment (defaults to ``os.environ``).
        log: where the one-line reports go (stderr by default).

    Example:
        >>> import tempfile, pathlib
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "mock.toml"
        >>> _ = file.write_text("seed = 1")
        >>> config = load_config(config_file=file, env={})
        >>> state = MockState(config)
        >>> reloader = ConfigReloader(state, file, config, env={}, log=print)
        >>> _ = file.write_text("seed = 2")
        >>> reloader.reload()
        config reloaded from ...mock.toml: seed
        True
        >>> _ = file.write_text("seed = 'two'")
        >>> reloader.reload()
        config file ...mock.toml refused, the previous config stays in force: seed (from ...): cannot use 'two': ...
        False
        >>> state.config.seed
        2
    """

    def __init__(
        self,
        state: MockState,
        path: str | os.PathLike[str],
        loaded: MockConfig,
        cli: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        log: Callable[[str], None] = _stderr,
    ) -> None:
        self.state = state
        self.path = Path(path)
        self.loaded = loaded
        self.cli = dict(cli or {})
        self.env = env
        self.log = log
        self.reloads = 0
        self._lock = threading.Lock()

    def reload(self) -> bool:
        """Re-read the file and apply its changes; False (and nothing changed) if it is refused."""
        with self._lock:
            try:
                fresh = load_config(self.cli, self.env, config_file=self.path)
            except ConfigError as exc:
                self.log(f"config file {self.path} refused, the previous config stays in force: {exc}")
                return False
            changed = {
                f.name: getattr(fresh, f.name)
                for f in dataclasses.fields(MockConfig)
                if getattr(fresh, f.name) != getattr(self.loaded, f.name)
            }
            restart = sorted(set(changed) - RUNTIME_SETTINGS)
            applied = {name: value for name, value in changed.items() if name in RUNTIME_SETTINGS}
            try:
                self.state.apply_file_changes(applied)
            except ConfigError as exc:
                self.log(f"config file {self.path} refused, the previous config stays in force: {exc}")
                return False
            self.loaded = dataclasses.replace(fresh, **{name: getattr(self.loaded, name) for name in restart})
            self.reloads += 1
            shown = ", ".join(sorted(applied)) or "nothing changed"
            self.log(f"config reloaded from {self.path}: {shown}")
            if restart:
                self.log(f"config file {self.path}: {', '.join(restart)} changed; restart the server to apply")
            return True

    def watch(self, stop: threading.Event) -> None:
        """Reload each time the file is saved, until ``stop`` is set (blocks; run it in a thread)."""
        import watchfiles

        target = self.path.resolve()

        def is_target(change: watchfiles.Change, path: str) -> bool:
            # Editors often save by writing a new file and renaming it: watch the folder, keep this name.
            return change != watchfiles.Change.deleted and Path(path).resolve() == target

        for _ in watchfiles.watch(
            target.parent, watch_filter=is_target, stop_event=stop, debounce=400, step=50, rust_timeout=500
        ):
            self.reload()

    def start(self) -> threading.Event:
        """Watch in a daemon thread; set the returned event to stop."""
        stop = threading.Event()
        thread = threading.Thread(target=self.watch, args=(stop,), name="ainative-mock:watch", daemon=True)
        thread.start()
        return stop
