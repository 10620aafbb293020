"""Who a process is: pid files, identity by pid and start time, exit statuses.

Shared by process control and by the conditions that look at a watched process.
"""

from __future__ import annotations

import functools
import os
import signal

from godpy import swap_file


def describe_status(returncode: int) -> str:
    """Turn a Popen return code into ``exited with code 3`` / ``killed by SIGKILL``."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def write_pid_file(path: str, pid: int) -> None:
    """Write ``pid`` to ``path`` atomically (a reader never sees a partial file), by a
    swap with its hidden spare (``swap_file``: no inode made per start)."""
    swap_file.write(path, str(pid).encode(), 0o644)


def remove_pid_file(path: str) -> None:
    """Delete the pid file ``path`` and its spare (nothing there is fine)."""
    swap_file.remove(path)


def read_pid_file(path: str) -> tuple[int, float] | None:
    """Return (pid, mtime) from a pid file, or None when missing or not a number."""
    try:
        with open(path) as fh:
            text = fh.read().strip()
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    return (int(text), mtime) if text.isdigit() else None


def identity(pid: int) -> float | None:
    """Start time of a live (non-zombie) process ``pid`` (wall clock, as psutil's
    ``create_time``: boot time plus the start in ticks), or None."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] == b"Z":
        return None
    return _boot_time() + int(fields[19]) / _TICKS


@functools.cache
def _boot_time() -> float:
    """When the machine booted (``btime`` in /proc/stat, as psutil reads it)."""
    with open("/proc/stat", "rb") as fh:
        for line in fh:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


_PF_KTHREAD = 0x00200000
_TICKS = os.sysconf("SC_CLK_TCK")
#: psutil's start times rest on a boot time rounded to the second.
START_TIME_SLACK = 1.0


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _uids(pid: int) -> tuple[int, ...]:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"Uid:"):
                    return tuple(int(n) for n in line.split()[1:3])  # real, effective
    except OSError:
        pass
    return ()


def trusted(pid: int, uid: int, not_before: float | None = None) -> float | None:
    """Start time of ``pid`` when it may be a process of a watch running as ``uid``.

    A pid read from a file that the service's user can write proves nothing: it is
    trusted only when the process runs as ``uid`` (real or effective), started no earlier
    than ``not_before`` (wall clock, with psutil's one-second slack), and is neither pid 1,
    a kernel thread, nor godpy itself. Returns None otherwise.
    """
    if pid <= 1 or pid == os.getpid():
        return None
    fields = _stat_fields(pid)
    if fields is None or fields[0] == b"Z" or int(fields[6]) & _PF_KTHREAD:
        return None
    if uid not in _uids(pid):
        return None
    started = identity(pid)
    if started is None or (not_before is not None and started < not_before - START_TIME_SLACK):
        return None
    return started


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot: with the pid, an exact identity
    that survives a restart of godpy (no wall clock involved)."""
    fields = _stat_fields(pid)
    return None if fields is None or fields[0] == b"Z" else int(fields[19])


def age(pid: int) -> float | None:
    """Seconds since ``pid`` started, to the clock tick (psutil's is off by up to 1 s)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    try:
        with open("/proc/uptime", "rb") as fh:
            up = float(fh.read().split()[0])
    except OSError:
        return None
    return max(0.0, up - int(fields[19]) / _TICKS)


def watched_pid(condition) -> int | None:
    """The pid a process condition looks at: its own ``pid_file`` if set, else the watch's."""
    path = getattr(condition, "pid_file", None)
    if path:
        found = read_pid_file(path)
        return found[0] if found and identity(found[0]) is not None else None
    process = getattr(condition.task, "process", None)
    return process.pid if process is not None else None
