"""Helpers shared by the benchmark scripts: percentiles, pids, waiting, process readings."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def godpy_command() -> list[str]:
    here = os.path.dirname(os.path.abspath(sys.executable))
    exe = os.path.join(here, "godpy")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "godpy"]


def is_sleep(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().split(b"\0")[1:2] == [b"100000"]
    except OSError:
        return False


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def read_pid(path: str) -> int | None:
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def wait_for(predicate, timeout: float, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# -- readings of another process ---------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """The utime + stime of ``pid`` (every thread, no children), in seconds (clock ticks)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_clock_ns(pid: int) -> int:
    """The CPU time of ``pid`` (every thread, no children) in ns, from its process CPU clock.

    The same quantity as utime + stime, without the clock-tick rounding: the clock id is
    what glibc's ``clock_getcpuclockid(pid)`` returns (``CPUCLOCK_SCHED`` of the process).
    """
    return time.clock_gettime_ns(((~pid) << 3) | 2)


def rss_and_threads(pid: int) -> tuple[int, int]:
    """The resident set (kB) and thread count of ``pid``."""
    with open(f"/proc/{pid}/status") as fh:
        rows = dict(line.split(":", 1) for line in fh if ":" in line)
    return int(rows["VmRSS"].split()[0]), int(rows["Threads"])


def timed(
    cmd: list[str], timeout: float | None = None
) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time (ms) of running ``cmd`` to completion, output captured."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return (time.perf_counter() - t0) * 1e3, done


def enable_bytecode(root: str, as_is: bool) -> str:
    """Give child processes bytecode caching (under ``root``) if this environment disables it.

    With ``PYTHONDONTWRITEBYTECODE`` every run of a command would compile the modules that
    have no .pyc yet (godpy's own, in an editable install) but not the ones pip compiled.
    Returns a note for the report ("" when nothing changed).
    """
    if as_is or not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return ""
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = os.path.join(root, "pycache")
    return "; PYTHONDONTWRITEBYTECODE dropped, .pyc files cached in the temporary directory"
