"""Process groups: signal what is left of a watched process's group and wait until it is gone.

A watched process that godpy starts leads its own session and process group, so its
workers share its group id even after it dies (the kernel keeps the number reserved while
any member lives). Cleaning the group up, as systemd's control-group kill mode does,
keeps orphaned workers from holding a port that the next start needs.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from godpy.children import wait_exit
from godpy.pids import identity, trusted

_POLL = 0.005


def signal_name(sig: int) -> str:
    """``SIGTERM`` for 15; the number itself for an unknown signal."""
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def live_members(pgid: int) -> list[int]:
    """Pids of the live (non-zombie) processes in group ``pgid``."""
    try:
        os.killpg(pgid, 0)  # the cheap answer for the common case: nobody left
    except ProcessLookupError:
        return []
    except PermissionError:
        pass
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            found.append(int(entry))
    return found


def members_trusted(pgid: int, uid: int) -> bool:
    """True when group ``pgid`` has live members and each runs as ``uid``."""
    members = live_members(pgid)
    return bool(members) and all(trusted(pid, uid) is not None for pid in members)


class Target:
    """What a stop aims at: the main pid, its process group, or both.

    Args:
        pid: the main process (None when it is already gone).
        pgid: its process group (None: signal the pid only).
    """

    def __init__(self, pid: int | None, pgid: int | None):
        self.pid = pid
        self.pgid = pgid

    def __bool__(self) -> bool:
        return self.pid is not None or self.pgid is not None

    def describe(self) -> str:
        """``process group 123`` or ``pid 123``."""
        return f"process group {self.pgid}" if self.pgid is not None else f"pid {self.pid}"

    def send(self, sig: int) -> bool:
        """Send ``sig`` to the group (or the pid); False when nobody was there."""
        try:
            if self.pgid is not None:
                os.killpg(self.pgid, sig)
            elif self.pid is not None:
                os.kill(self.pid, sig)
            else:
                return False
        except ProcessLookupError:
            return False
        return True

    def gone(self) -> bool:
        """True when the pid and every live member of the group have exited."""
        if self.pid is not None and identity(self.pid) is not None:
            return False
        return self.pgid is None or not live_members(self.pgid)

    def stop(
        self,
        sig: int,
        timeout: float,
        log: Callable,
        reap: Callable[[], object],
        sent: Callable[[], object] | None = None,
    ) -> bool:
        """Send ``sig`` then SIGCONT, wait ``timeout``, then SIGKILL; True when all went.

        Args:
            sig: the stop signal.
            timeout: seconds before SIGKILL.
            log: ``log(level, message, *args)``.
            reap: collects our own child's exit status while waiting (no zombie counts).
            sent: called once the signal is sent, before the wait.
        """
        if self.send(sig):
            log(20, "sent %s to %s", signal_name(sig), self.describe())
        self.send(signal.SIGCONT)  # a stopped process acts on the signal only once continued
        if sent is not None:
            sent()
        if self.wait(timeout, reap):
            return True
        self.send(signal.SIGKILL)
        log(30, "%s still alive after %gs; sent SIGKILL", self.describe(), timeout)
        return self.wait(5.0, reap)

    def wait(self, timeout: float, reap: Callable[[], object]) -> bool:
        """Wait until ``gone()``, reaping as we go; False when ``timeout`` ran out.

        The main pid is waited for on a pidfd (no polling: 1,000 watches stopping at once
        made 200,000 wake-ups a second); what is left of the group, if anything, is then
        looked at every few milliseconds.
        """
        deadline = time.monotonic() + timeout
        if self.pid is not None:
            wait_exit(self.pid, timeout)
        while True:
            reap()
            if self.gone():
                reap()  # our child may have become a zombie since the first reap
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)
