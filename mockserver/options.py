"""The options of ``@pytest.mark.ainative_mock``: one keyword-only class, checked in one place.

Every option means the same on ``ainative_mock`` and ``ainative_server``. Settings of
``ainative-mock serve`` (``credits``, ``rpm``, ``models``...) are options too, by the same names;
:attr:`MockOptions.settings` holds the ones without a field of their own.

To add an option: add a keyword-only field to :class:`MockOptions` (with its help in the class
docstring), list it in :data:`FIXTURE_ONLY` if it applies to one fixture only, and read it in the
fixture. The marker's help text and the parametrized option tests follow from the fields.

Example:
    >>> options = MockOptions.from_marker({"credits": 0, "queued_replies": ["Hi"], "ttft_ms": 5})
    >>> options.credits, options.queued_replies, options.config_settings()
    (0, ('Hi',), {'credits': 0, 'ttft_ms': 5})
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from mockserver.config import OPTIONS

__all__ = ["DEPRECATED_NAMES", "FIXTURE_ONLY", "NOT_APPLICABLE", "MockOptions", "OptionError"]

DEPRECATED_NAMES = {"faults": "random_faults", "replies": "reply_rules", "scripted_replies": "queued_replies"}
"""Old marker names, accepted with a DeprecationWarning for one release."""
CONFIG_NAMES = {"random_faults": "faults", "reply_rules": "replies"}
"""Fields whose ``ainative-mock serve`` setting has another name."""
FIXTURE_ONLY = {"pass_through": "ainative_mock"}
"""Options that only one fixture can honour, and which."""
NOT_APPLICABLE = {
    "host": "the fixtures choose where the mock listens (ainative_server: 127.0.0.1, a free port)",
    "port": "the fixtures choose where the mock listens (ainative_server: 127.0.0.1, a free port)",
    "log_level": "the fixtures' servers log through pytest's logging capture",
}
"""``ainative-mock serve`` settings no fixture can honour, and why."""
_SERVE_SETTINGS = frozenset(option.name for option in OPTIONS)


class OptionError(ValueError):
    """A marker option that is unknown or cannot apply; the message names it."""


@dataclass(frozen=True, kw_only=True, slots=True)
class MockOptions:
    """What ``@pytest.mark.ainative_mock(...)`` sets for one test (nearest marker wins).

    Attributes:
        credits, plan, rpm, tpm, unavailable_models, fault_rate, error_style, seed, ttft_ms,
            tokens_per_second: the ``ainative-mock serve`` settings of the same names.
        random_faults: the pool random faults are drawn from at ``fault_rate`` (serve's ``faults``).
        reply_rules: reply rules, ``[{"match": ..., "text": ...}, ...]`` (serve's ``replies``).
        queued_replies: reply texts for the next requests, in order (as ``mock.reply(text)``).
        queued_faults: faults for the next requests, in order: names (``"500"``, ``"disconnect"``) or
            dicts (``{"fault": "http_error", "status": 429, "times": 2}``), as ``mock.queue_fault``.
        check_unused: fail at teardown if a queued reply or fault was never used (default True).
        pass_through: ``ainative_mock`` only: requests for hosts the mock does not serve go to the
            network (True, default) or fail, listed at teardown (False).
        cassette: recorded traffic to replay: a directory or file under ``cassettes/`` next to the test
            file (``--ainative-record=once`` records a missing one, with ``ainative_mock``).
        settings: any other ``ainative-mock serve`` setting, by its name (``models``, ``api_keys``...).
    """

    credits: int | None = None
    plan: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    unavailable_models: Sequence[str] | None = None
    random_faults: Sequence[str] | None = None
    fault_rate: float | None = None
    error_style: str | None = None
    seed: int | None = None
    ttft_ms: float | None = None
    tokens_per_second: float | None = None
    reply_rules: Sequence[Mapping[str, Any]] | None = None
    queued_replies: Sequence[str] = ()
    queued_faults: Sequence[str | Mapping[str, Any]] = ()
    check_unused: bool = True
    pass_through: bool = True
    cassette: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_marker(cls, kwargs: Mapping[str, Any]) -> MockOptions:
        """Options from a marker's keyword arguments; old names warn, unknown names raise :class:`OptionError`."""
        own = {f.name for f in fields(cls)} - {"settings"}
        given: dict[str, Any] = {}
        settings: dict[str, Any] = {}
        for given_name, value in kwargs.items():
            name = DEPRECATED_NAMES.get(given_name, given_name)
            if name != given_name:
                warnings.warn(
                    f"@pytest.mark.ainative_mock({given_name}=...) is deprecated; use {name}=...",
                    DeprecationWarning,
                    stacklevel=2,
                )
                if name in kwargs:
                    raise OptionError(f"give {name} or its old name {given_name}, not both")
            if name in NOT_APPLICABLE:
                raise OptionError(f"option {name!r} cannot apply to the mock fixtures: {NOT_APPLICABLE[name]}")
            if name in own:
                given[name] = value
            elif name in _SERVE_SETTINGS and name not in CONFIG_NAMES.values():
                settings[name] = value
            else:
                known = sorted(own | (_SERVE_SETTINGS - set(CONFIG_NAMES.values()) - set(NOT_APPLICABLE)))
                raise OptionError(f"unknown setting {name!r}; known: {', '.join(known)}")
        for name in ("queued_replies", "queued_faults"):
            if name in given:
                given[name] = tuple(given[name] or ())
        return cls(**given, settings=settings)

    def given(self) -> dict[str, Any]:
        """The options set to something other than their default, by name."""
        defaults = MockOptions()
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "settings"}
        out = {name: value for name, value in out.items() if value != getattr(defaults, name)}
        return {**out, **self.settings}

    def config_settings(self) -> dict[str, Any]:
        """The ``ainative-mock serve`` settings among the options, by their serve names."""
        plugin_only = {"queued_replies", "queued_faults", "check_unused", "pass_through", "cassette"}
        return {
            CONFIG_NAMES.get(name, name): value
            for name, value in self.given().items()
            if name not in plugin_only and value is not None
        }

    def check_for(self, fixture: str) -> None:
        """Raise :class:`OptionError` naming an option given that ``fixture`` cannot honour."""
        for name, only in FIXTURE_ONLY.items():
            if name in self.given() and only != fixture:
                raise OptionError(
                    f"option {name!r} applies to {only} only: {fixture} is reached over a real socket, "
                    f"so requests for other hosts never pass through it"
                )

    @classmethod
    def signature(cls) -> str:
        """The marker's signature, for ``pytest --markers``."""
        defaults = cls()
        parts = [f"{f.name}={getattr(defaults, f.name)!r}" for f in fields(cls) if f.name != "settings"]
        return "ainative_mock(*, " + ", ".join([*parts, "**settings"]) + ")"
