"""Who a process is: pid files, identity by pid and start time, exit statuses.

Shared by process control and by the conditions that look at a watched process.
"""

from __future__ import annotations

import os
import signal
import tempfile

import psutil


def describe_status(returncode: int) -> str:
    """Turn a Popen return code into ``exited with code 3`` / ``killed by SIGKILL``."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def write_pid_file(path: str, pid: int) -> None:
    """Write ``pid`` to ``path`` atomically (a reader never sees a partial file)."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".pid-", dir=directory)
    try:
        os.write(fd, str(pid).encode())
        os.fchmod(fd, 0o644)
    finally:
        os.close(fd)
    os.replace(tmp, path)


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
    """Start time of a live (non-zombie) process ``pid``, or None."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def group_has_live_members(pgid: int) -> bool:
    """True when some process of group ``pgid`` is alive (zombies do not count)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def watched_pid(condition) -> int | None:
    """The pid a process condition looks at: its own ``pid_file`` if set, else the watch's."""
    path = getattr(condition, "pid_file", None)
    if path:
        found = read_pid_file(path)
        return found[0] if found and identity(found[0]) is not None else None
    process = getattr(condition.task, "process", None)
    return process.pid if process is not None else None
