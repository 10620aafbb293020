"""Children: every child godpy spawned and has not reaped yet, and who reaps each.

A watched child is reaped by its owner's driver only (two threads polling one Popen make
one of them see a dead child as running); the daemon's main loop peeks on SIGCHLD and
tells the owner.
"""

from __future__ import annotations

import os
import select
import subprocess
import threading
import time
from collections.abc import Callable


class Children:
    """Every child godpy spawned and has not reaped yet.

    The daemon's main loop calls ``reap()`` on SIGCHLD, so no zombie lingers. A child
    with an owner (a watched process) is reaped by its owner's driver, never here: two
    threads polling one Popen make one of them see a dead child as running. ``reap()``
    only peeks at an owned child (``WNOWAIT``) and tells its owner.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._popens: dict[subprocess.Popen, Callable[[], bool] | None] = {}
        self._told: set[subprocess.Popen] = set()
        #: owned children a scan saw exited, and when first (see ``reap``)
        self._exited: dict[subprocess.Popen, float] = {}
        #: True while exit events reach the owners: they reap their children themselves
        self.owners_reap = False

    def add(self, popen: subprocess.Popen, owner: Callable[[], bool] | None = None) -> None:
        """Track a child; ``owner()`` is told (once) when it exits and returns True when
        it will reap the child itself."""
        with self._lock:
            self._popens[popen] = owner
            self._told.discard(popen)
            self._exited.pop(popen, None)

    def discard(self, popen: subprocess.Popen) -> None:
        """Forget a child its owner has reaped."""
        with self._lock:
            self._popens.pop(popen, None)
            self._told.discard(popen)
            self._exited.pop(popen, None)

    def reap(self, now: float | None = None) -> int:
        """Reap every finished unowned child, tell owners of finished owned ones; return
        how many are still tracked.

        With ``owners_reap`` (exit events reach the owners, and each reaps its own child
        at once), an owner is told only of a child still there ``OWNER_GRACE`` seconds
        after a scan first saw it exit: a burst of 200 restarts made dozens of scans,
        and sent nearly every driver a message about a child it had reaped already.
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            items = list(self._popens.items())
        for popen, owner in items:
            if popen.returncode is not None:
                self.discard(popen)
            elif owner is None or popen in self._told:
                if owner is None and popen.poll() is not None:
                    self.discard(popen)
            elif exited(popen.pid):
                if self.owners_reap and now - self._first_exit(popen, now) < OWNER_GRACE:
                    continue
                with self._lock:
                    self._exited.pop(popen, None)
                self._told.add(popen)
                if not owner() and popen.poll() is not None:  # nobody will: reap it here
                    self.discard(popen)
        with self._lock:
            return len(self._popens)

    def _first_exit(self, popen: subprocess.Popen, now: float) -> float:
        """When a scan first saw ``popen`` exited (``now`` if this is the first); its
        owner may have reaped and dropped it meanwhile: then it is not noted."""
        with self._lock:
            if popen not in self._popens:
                return now
            return self._exited.setdefault(popen, now)

    def recheck_in(self, now: float) -> float | None:
        """Seconds until an owner should be told of a child it has not reaped (None: no
        such child)."""
        with self._lock:
            first = min(self._exited.values(), default=None)
        return None if first is None else max(0.0, first + OWNER_GRACE - now)


#: How long an owner that reaps on exit events has before the main loop tells it.
OWNER_GRACE = 0.5


def any_exited() -> bool:
    """True when some child of godpy has exited and is not reaped yet (one syscall)."""
    try:
        return os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return False


def zombie_soon(popen: subprocess.Popen, timeout: float = 0.05) -> int | None:
    """Reap a child whose exit the kernel just announced: it becomes a zombie within
    microseconds (a few milliseconds when hundreds die at once), so wait for exactly that
    on a pidfd; None if it did not happen within ``timeout``.

    Reaped now, its process group is empty at once for the cleanup check that follows
    (a zombie still counts as a member, and scanning /proc costs milliseconds).
    """
    code = popen.poll()
    if code is None:
        wait_exit(popen.pid, timeout)
        code = popen.poll()
    return code


def wait_exit(pid: int, timeout: float) -> bool:
    """Wait (at most ``timeout`` seconds, without polling) until process ``pid`` has
    exited; True when it has. A pidfd is readable once the whole process is gone."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except OSError:  # no pidfd (Linux < 5.3): a short sleep stands in
        time.sleep(min(timeout, 0.001))
        return False
    try:
        poller = select.poll()  # not select(): a daemon of 1,000 watches has fds above 1024
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))
    finally:
        os.close(fd)


def exited(pid: int) -> bool:
    """True when our child ``pid`` has exited, without reaping it (one syscall: cheaper
    than reading /proc, and a zombie counts as exited)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True
