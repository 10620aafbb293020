"""Readings of a running process (memory, CPU time) through psutil."""

from __future__ import annotations

import time

import psutil


def _family(pid: int, tree: bool) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)] if tree else [proc]


def memory_kb(pid: int, tree: bool = False) -> float:
    """Resident memory of ``pid`` (and its descendants when ``tree``) in kilobytes."""
    total = 0
    for proc in _family(pid, tree):
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return total / 1024.0


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


def start_time(pid: int) -> float:
    """Wall-clock time at which ``pid`` started."""
    return psutil.Process(pid).create_time()


def now() -> float:
    """Wall-clock time now (separate so tests can compare with ``start_time``)."""
    return time.time()
