"""sd_notify: tell systemd (``Type=notify``) that godpy is ready, how its watches are,
that its main loop still turns, and that it is stopping.

Spoken only when ``NOTIFY_SOCKET`` is in godpy's environment: a path, or an abstract
socket name when it starts with ``@``. Each message is one datagram of ``KEY=VALUE``
lines, sent without blocking; a failure is logged once and never raised. The daemon's
main loop is the only thread that calls a :class:`Notifier`.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from godpy.log import get_logger

#: What godpy reads from its environment (and takes out of it, so that watched
#: programs do not talk to systemd on godpy's behalf).
ENV_KEYS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
#: Seconds between two looks at the watches' states for a ``STATUS=`` line.
STATUS_GAP = 1.0

#: A snapshot's state -> its word in the status line; other states count as starting.
_WORDS = {
    "up": "up",
    "down": "down",
    "stop": "stopping",
    "failed": "failed",
    "unmonitored": "unmonitored",
}
_ORDER = ("up", "starting", "stopping", "down", "failed", "unmonitored")


def address_of(value: str | None) -> str | bytes | None:
    """The ``sendto`` address for a ``NOTIFY_SOCKET`` value; None when unusable (unset,
    empty, or neither an absolute path nor ``@abstract``)."""
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + os.fsencode(value[1:])
    return value if value.startswith("/") else None


def watchdog_interval(env: Mapping[str, str], pid: int) -> float | None:
    """Seconds between two ``WATCHDOG=1``: half of ``WATCHDOG_USEC``; None when it is
    unset or not a positive number, or when ``WATCHDOG_PID`` names another process."""
    owner = env.get("WATCHDOG_PID")
    if owner and owner.strip() != str(pid):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


def status_line(snapshots: Iterable[dict]) -> str:
    """``12 up, 1 failed``: the watches counted by state (generic tasks are left out)."""
    counts: Counter = Counter()
    for snap in snapshots:
        if snap.get("kind", "watch") == "watch":
            counts[_WORDS.get(snap.get("state"), "starting")] += 1
    if not counts:
        return "no watches"
    return ", ".join(f"{counts[word]} {word}" for word in _ORDER if counts[word])


def message(**fields: object) -> bytes:
    """One datagram: ``KEY=VALUE`` lines (``ready=1`` becomes ``READY=1``)."""
    return "\n".join(f"{key.upper()}={value}" for key, value in fields.items()).encode()


class Notifier:
    """Talks to systemd's notify socket; does nothing at all when ``address`` is None.

    Args:
        address: where to send (see :func:`address_of`), or None: disabled.
        watchdog: seconds between two ``WATCHDOG=1``, or None: no watchdog pings.
    """

    def __init__(self, address: str | bytes | None = None, watchdog: float | None = None):
        self.address = address
        self.watchdog = watchdog if address is not None else None
        self._sock: socket.socket | None = None
        self._warned = False
        self._status: str | None = None
        self._next_ping = float("-inf")
        self._next_status = float("-inf")

    @classmethod
    def from_env(cls, env: Mapping[str, str], pid: int | None = None) -> Notifier:
        """The notifier that ``env`` asks for (disabled without ``NOTIFY_SOCKET``)."""
        address = address_of(env.get("NOTIFY_SOCKET"))
        return cls(address, watchdog_interval(env, os.getpid() if pid is None else pid))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @classmethod
    def take(cls, environ) -> Notifier:
        """:meth:`from_env` on godpy's own environment, whose sd_notify variables are then
        removed: a watched program must not speak for godpy (as sd_notify(3)'s
        ``unset_environment``)."""
        notifier = cls.from_env(environ)
        for key in ENV_KEYS:
            environ.pop(key, None)
        return notifier

    def send(self, data: bytes) -> bool:
        """Send one datagram; False (logged once) when it could not be sent."""
        if self.address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(data, socket.MSG_DONTWAIT, self.address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                get_logger().warning(
                    "sd_notify: could not tell systemd (NOTIFY_SOCKET %s): %s",
                    _shown(self.address),
                    exc,
                )
            return False
        return True

    def ready(self, status: Callable[[], str]) -> None:
        """``READY=1`` with the first ``STATUS=`` line."""
        if self.enabled:
            self._status = _text(status)
            self.send(message(ready=1, status=self._status))

    def tick(self, now: float, status: Callable[[], str]) -> None:
        """The main loop turned: ping the watchdog when due, and send the status line
        when it changed (looked at every ``STATUS_GAP`` seconds at most)."""
        if not self.enabled:
            return
        if self.watchdog is not None and now >= self._next_ping:
            self._next_ping = now + self.watchdog
            self.send(message(watchdog=1))
        if now >= self._next_status:
            self._next_status = now + STATUS_GAP
            text = _text(status)
            if text != self._status:
                self._status = text
                self.send(message(status=text))

    def wait(self, now: float) -> float:
        """Seconds until :meth:`tick` has something to do (inf when disabled)."""
        if not self.enabled:
            return float("inf")
        due = self._next_status
        if self.watchdog is not None:
            due = min(due, self._next_ping)
        return max(0.0, due - now)

    def stopping(self) -> None:
        """``STOPPING=1``: shutdown begins."""
        if self.enabled:
            self.send(message(stopping=1, status="stopping"))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _text(status: Callable[[], str]) -> str:
    """The status line; a reading that failed must not stop the main loop."""
    try:
        return status()
    except Exception:
        get_logger().debug("sd_notify: could not read the watches' states", exc_info=True)
        return "status unknown"


def _shown(address: str | bytes) -> str:
    return "@" + os.fsdecode(address[1:]) if isinstance(address, bytes) else address
