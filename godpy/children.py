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
        #: True while exit events reach the owners: they reap their children themselves
        self.owners_reap = False
        self._scanned_at = float("-inf")  # when every child was last looked at
        self._scan_at: float | None = None  # when every child is looked at next

    def signalled(self, now: float) -> None:
        """The main loop got a SIGCHLD. Without exit events every child is looked at.
        With them each driver reaps its own child at once, so only the children no
        driver owns are, and every child OWNER_GRACE later (a scan of 1,000 children
        at each SIGCHLD competed with the restart itself for the GIL)."""
        if not self.owners_reap:
            self._scanned_at = now
            self.reap()
            return
        self.reap(owned=False)
        if self._scan_at is None:
            self._scan_at = now + OWNER_GRACE

    def tick(self, now: float) -> None:
        """The main loop's turn: the scan a SIGCHLD left for later, and one every
        REAP_EVERY as a safety net (each second, it was most of an idle daemon's CPU at
        200 watches); none when no child waits to be reaped."""
        if (self._scan_at is not None and now >= self._scan_at) or (
            now >= self._scanned_at + REAP_EVERY
        ):
            self._scan_at = None
            self._scanned_at = now
            if any_exited():
                self.reap()

    def scan_in(self, now: float) -> float:
        """Seconds until ``tick`` has a scan due that a SIGCHLD left (at most 1)."""
        return 1.0 if self._scan_at is None else min(1.0, max(0.0, self._scan_at - now))

    def add(self, popen: subprocess.Popen, owner: Callable[[], bool] | None = None) -> None:
        """Track a child; ``owner()`` is told (once) when it exits and returns True when
        it will reap the child itself."""
        with self._lock:
            self._popens[popen] = owner
            self._told.discard(popen)

    def discard(self, popen: subprocess.Popen) -> None:
        """Forget a child its owner has reaped."""
        with self._lock:
            self._popens.pop(popen, None)
            self._told.discard(popen)

    def reap(self, owned: bool = True) -> int:
        """Reap every finished unowned child, and (``owned``) tell owners of finished
        owned ones; return how many are still tracked."""
        with self._lock:
            items = list(self._popens.items())
        for popen, owner in items:
            if popen.returncode is not None:
                self.discard(popen)
            elif owner is None or popen in self._told:
                if owner is None and popen.poll() is not None:
                    self.discard(popen)
            elif owned and exited(popen.pid):
                self._told.add(popen)
                if not owner() and popen.poll() is not None:  # nobody will: reap it here
                    self.discard(popen)
        with self._lock:
            return len(self._popens)


#: How long a driver that reaps on exit events has before the main loop tells it of its
#: exited child.
OWNER_GRACE = 0.5
#: Seconds between two looks at every child without a SIGCHLD (which never gets lost).
REAP_EVERY = 30.0


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
