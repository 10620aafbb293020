"""EventHandler: pid -> callbacks, fed by an event backend (netlink on Linux).

Callbacks run on the backend's thread and must only post messages to a driver.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from godpy.backlog import Backlog
from godpy.log import get_logger

_RECENT = 4096  # exits remembered for a registration that comes just too late


class EventHandler:
    """Registry of exit callbacks and owner of the event backend.

    Args:
        on_overflow: called when events may have been lost, so every watch re-checks.
    """

    def __init__(self, on_overflow: Callable[[], None] | None = None):
        self._lock = threading.Lock()
        self._callbacks: dict[int, list[Callable]] = {}
        self._on_overflow = on_overflow or (lambda: None)
        #: pid -> (monotonic time, payload) of recent exits nobody was registered for
        self._recent: OrderedDict[int, tuple[float, dict]] = OrderedDict()
        self.backend = None
        #: exits handed to drivers and not acted on yet (a burst's starts come first)
        self.backlog = Backlog()

    @property
    def loaded(self) -> bool:
        """True when a backend is running and passed its self-test."""
        return self.backend is not None

    def start(self, backend_factory=None) -> bool:
        """Start the netlink backend and self-test it; False (logged once) on failure."""
        if backend_factory is None:
            from godpy.netlink_handler import NetlinkHandler

            backend_factory = NetlinkHandler
        backend = backend_factory(self.dispatch_exit, self._overflow)
        try:
            backend.start()
        except OSError as exc:
            get_logger().warning(
                "events: netlink unavailable (%s); polling instead. Run as root (or with "
                "CAP_NET_ADMIN) for instant restarts",
                exc,
            )
            return False
        self.backend = backend
        if not self.self_test():
            get_logger().warning("events: netlink self-test saw no exit event; polling instead")
            self.stop()
            return False
        get_logger().info("events: using %s process-exit events", backend.name)
        return True

    def stop(self) -> None:
        """Stop the backend."""
        if self.backend is not None:
            self.backend.stop()
            self.backend = None

    def register(self, pid: int, callback: Callable, since: float | None = None) -> None:
        """Call ``callback(payload)`` when process ``pid`` exits.

        With ``since`` (the monotonic time the caller learned of ``pid``), an exit that
        arrived after it but before this registration fires the callback at once: a
        process can die before anyone registers for it.
        """
        with self._lock:
            seen = self._recent.pop(pid, None)
            early = seen is not None and since is not None and seen[0] >= since
            if not early:
                self._callbacks.setdefault(pid, []).append(callback)
        if early:
            callback(seen[1])

    def deregister(self, pid: int, callback: Callable) -> None:
        """Forget one callback of ``pid``."""
        with self._lock:
            callbacks = self._callbacks.get(pid, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:
                self._callbacks.pop(pid, None)

    def watching(self, pid: int) -> bool:
        """True when a callback is registered for ``pid``."""
        with self._lock:
            return pid in self._callbacks

    def dispatch_exit(self, pid: int, payload: dict) -> None:
        """Backend entry point: run (once) the callbacks registered for ``pid``."""
        with self._lock:
            callbacks = self._callbacks.pop(pid, None)
            if not callbacks:
                self._recent[pid] = (time.monotonic(), payload)
                self._recent.move_to_end(pid)
                if len(self._recent) > _RECENT:
                    self._recent.popitem(last=False)
        for callback in callbacks or ():
            if getattr(callback, "takes_ticket", False):  # a driver's: it says when done
                callback({**payload, "ticket": self.backlog.enter()})
            else:
                callback(payload)

    def _overflow(self) -> None:
        self._on_overflow()

    def self_test(self, timeout: float = 2.0) -> bool:
        """Start a short process, kill it, and check that its exit event arrives."""
        seen = threading.Event()
        child = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL)
        self.register(child.pid, lambda payload: seen.set())
        child.kill()
        child.wait()
        ok = seen.wait(timeout)
        with self._lock:
            self._callbacks.pop(child.pid, None)
        return ok
