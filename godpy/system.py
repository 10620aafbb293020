"""Readings of a running process (memory, CPU time, children, descriptors, threads,
listening ports): the one module behind which psutil lives, and /proc for status.

A process that is gone raises ``ProcessLookupError``; one godpy may not read raises
``PermissionError``.
"""

from __future__ import annotations

import os


class _Psutil:
    """psutil, imported on the first reading: a daemon whose watches read no memory or
    CPU never pays for it (15 ms of start, 2 MiB)."""

    def __getattr__(self, name: str):
        import psutil as module

        globals()["psutil"] = module
        return getattr(module, name)


psutil = _Psutil()

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _errors(func):
    """psutil's errors as the standard ones, so that callers never import psutil."""

    def read(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except psutil.NoSuchProcess as exc:
            raise ProcessLookupError(f"process {exc.pid} is gone") from None
        except psutil.AccessDenied as exc:
            raise PermissionError(f"no access to process {exc.pid}") from None

    read.__name__, read.__doc__ = func.__name__, func.__doc__
    return read


def _family(pid: int, tree: bool) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)] if tree else [proc]


@_errors
def memory_kb(pid: int, tree: bool = False) -> float:
    """Resident memory of ``pid`` (and its descendants when ``tree``) in kilobytes."""
    total = 0
    for proc in _family(pid, tree):
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return total / 1024.0


@_errors
def cpu_seconds(pid: int, tree: bool = False) -> float:
    """User plus system CPU seconds used so far by ``pid`` (and descendants when ``tree``)."""
    total = 0.0
    for proc in _family(pid, tree):
        try:
            times = proc.cpu_times()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        total += times.user + times.system
    return total


@_errors
def live_children(pid: int, recursive: bool = False) -> int:
    """How many live (non-zombie) children ``pid`` has (all descendants with
    ``recursive``)."""
    count = 0
    for kid in psutil.Process(pid).children(recursive=recursive):
        try:
            count += kid.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            continue
    return count


@_errors
def open_files(pid: int) -> int:
    """How many file descriptors ``pid`` holds open."""
    return psutil.Process(pid).num_fds()


@_errors
def thread_count(pid: int) -> int:
    """How many threads ``pid`` runs."""
    return psutil.Process(pid).num_threads()


@_errors
def listening_ports(pid: int, tree: bool = False) -> set[int]:
    """TCP ports that ``pid`` (and its descendants when ``tree``) listen on."""
    ports = set()
    for member in _family(pid, tree):
        try:
            conns = member.net_connections(kind="tcp")
        except psutil.Error:
            continue
        ports.update(c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN)
    return ports


def start_time(pid: int) -> float:
    """Wall-clock time at which ``pid`` started."""
    return psutil.Process(pid).create_time()


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def usage(pid: int) -> tuple[int, int, float]:
    """(start time in ticks, resident bytes, user+system CPU seconds) of ``pid``.

    The same files and fields as psutil's memory_info() (statm: /proc/PID/stat's rss is
    only approximate on recent kernels) and cpu_times(), at a third of the cost, which
    was most of `status` for 200 watches.
    """
    stat = _read(f"/proc/{pid}/stat")
    fields = stat[stat.rindex(b")") + 2 :].split()
    rss = int(_read(f"/proc/{pid}/statm").split()[1]) * _PAGE_SIZE
    cpu = int(fields[11]) / _CLOCK_TICKS + int(fields[12]) / _CLOCK_TICKS
    return int(fields[19]), rss, cpu
