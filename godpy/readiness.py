"""Readiness: when a watch that is up may be relied on by the watches that depend on it.

A watch without ``sd_notify`` or ``ready_if`` is ready as soon as it is up. With
``sd_notify`` it waits for the program's ``READY=1``; with ``ready_if`` for each of those
conditions to have held once. Each start of the program begins again from not ready.

Pure: :class:`Readiness` is told the time and what happened; the watch (on its driver)
owns it, arms the timers and acts on what it answers. Other threads only read it.
"""

from __future__ import annotations

#: The key of ``ready_if``'s metrics among a watch's metrics (it is not a state).
READY_IF = "ready_if"
#: The longest ``STATUS=`` text kept (the rest is cut, with an ellipsis).
STATUS_MAX = 200
#: The longest datagram read from the notify socket (systemd's own limit is larger, but
#: nothing godpy acts on needs more).
DATAGRAM_MAX = 4096


def parse(data: bytes) -> dict[str, str]:
    """An sd_notify datagram's ``KEY=VALUE`` lines as a dict (later lines win; lines
    without ``=`` are skipped; bytes that are not UTF-8 are replaced)."""
    fields = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        key, sep, value = line.partition("=")
        if sep and key:
            fields[key.strip()] = value
    return fields


def shown_status(text: str) -> str:
    """A ``STATUS=`` text fit for one line of ``godpy status``."""
    text = " ".join(text.split())
    return text if len(text) <= STATUS_MAX else text[: STATUS_MAX - 1] + "…"


class Readiness:
    """What a watch knows of its readiness (changed on its driver thread only).

    Args:
        notify: the program says when it is ready (``READY=1``).
        checks: names of the ``ready_if`` conditions, each to hold once.
    """

    def __init__(self, notify: bool = False, checks: dict | None = None):
        self.notify = notify
        self.checks = dict(checks or {})  # key -> name shown ("port_listening")
        self.notified = False  # READY=1 since this run began
        self.passed: set = set()  # the checks that held since this run began
        self.status: str | None = None  # the last STATUS= text
        self.last_ping: float | None = None  # when WATCHDOG=1 (or READY=1) came last
        self.since: float | None = None  # when the wait for readiness began
        self.late: str | None = None  # "not ready after 30s", once that has happened
        self.note: str | None = None  # why the last run was ended (the watchdog)

    @property
    def configured(self) -> bool:
        """True when readiness means more than up."""
        return self.notify or bool(self.checks)

    @property
    def ready(self) -> bool:
        """True when the program has said so and every check has held."""
        return (self.notified or not self.notify) and self.passed >= set(self.checks)

    def begin(self, now: float) -> None:
        """A new run of the program: not ready until it says so again. The wait (and its
        deadline) started at the first run that was not ready, and goes on."""
        self.notified = False
        self.passed = set()
        self.status = None
        self.last_ping = None
        if self.since is None:
            self.since = now

    def settled(self) -> None:
        """Ready (or no longer waited for: unmonitored): no wait, no deadline."""
        self.since = None
        self.late = None

    def overdue(self, now: float, timeout: float) -> bool:
        """True when the wait has lasted ``timeout`` and is not over."""
        return self.since is not None and not self.ready and now - self.since >= timeout

    def take(self, fields: dict[str, str], now: float) -> bool:
        """A datagram from the program; True when it made the watch ready."""
        before = self.ready
        if "STATUS" in fields:
            self.status = shown_status(fields["STATUS"]) or None
        if fields.get("READY") == "1":
            self.notified = True
            self.last_ping = now
        if fields.get("WATCHDOG") == "1":
            self.last_ping = now
        return self.ready and not before

    def held(self, key) -> bool:
        """Check ``key`` held; True when that made the watch ready."""
        before = self.ready
        self.passed = self.passed | {key}  # a new set: status reads it from other threads
        return self.ready and not before

    def ping_due(self, now: float, timeout: float) -> float | None:
        """Seconds left before the watchdog bites (<= 0: it bites), None while it
        does not apply (not ready, or no ping yet)."""
        if not self.ready or self.last_ping is None:
            return None
        return self.last_ping + timeout - now

    def waiting_for(self) -> str:
        """What the program has yet to do: ``READY=1``, ``port_listening``, ..."""
        missing = [] if self.notified or not self.notify else ["READY=1"]
        missing += [name for key, name in self.checks.items() if key not in self.passed]
        return ", ".join(dict.fromkeys(missing))

    def not_ready(self) -> str | None:
        """For status: ``waiting for READY=1``, ``not ready after 30s: waiting for
        READY=1``; None when ready."""
        if self.ready:
            return None
        text = f"waiting for {self.waiting_for()}"
        if self.note:
            text += f" (restarted: {self.note})"
        return f"{self.late}: {text}" if self.late else text
