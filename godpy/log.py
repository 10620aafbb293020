"""Logging: God's line format, and the last lines of each watch kept in memory."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
from collections import deque

LOGGER_NAME = "godpy"
LEVELS = ("debug", "info", "warning", "error", "critical")


class GodFormatter(logging.Formatter):
    """Format records as God does: ``I [2026-11-22 04:37:24]  INFO: message``."""

    def __init__(self):
        super().__init__("%(letter)s [%(asctime)s] %(levelpad)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        record.letter = record.levelname[0]
        name = "WARN" if record.levelname == "WARNING" else record.levelname
        record.levelpad = name.rjust(5)
        return super().format(record)


class WatchLogBuffer(logging.Handler):
    """Keep the last ``size`` formatted lines of each watch, for ``godpy log NAME``.

    A record belongs to a watch when it was logged with ``extra={"watch": name}``.
    """

    def __init__(self, size: int = 100):
        super().__init__()
        self.size = size
        self._lines: dict[str, deque] = {}
        self._seq = 0
        self._lock_lines = threading.Lock()
        self.setFormatter(GodFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "watch", None)
        if name is None:
            return
        line = self.format(record)
        with self._lock_lines:
            self._seq += 1
            ring = self._lines.setdefault(name, deque(maxlen=self.size))
            ring.append((self._seq, line))

    def lines(self, name: str, since: int = 0) -> tuple[int, list[str]]:
        """Lines of watch ``name`` numbered above ``since``, oldest first, and the last number.

        Pass the returned number back as ``since`` to get only newer lines (``log -f``).
        """
        with self._lock_lines:
            ring = list(self._lines.get(name, ()))
            last = self._seq
        return last, [line for seq, line in ring if seq > since]

    def forget(self, name: str) -> None:
        """Drop the lines of a removed watch."""
        with self._lock_lines:
            self._lines.pop(name, None)


def get_logger() -> logging.Logger:
    """Return godpy's one logger."""
    return logging.getLogger(LOGGER_NAME)


def setup(level: str = "info", path: str | None = None) -> logging.Handler:
    """Send godpy's log to ``path`` (appending) or to stderr, at ``level``.

    A log file is reopened when it was moved away (logrotate) and on ``reopen()``.

    Returns:
        the handler installed, so the caller can remove it again.
    """
    logger = get_logger()
    if path:
        handler: logging.Handler = logging.handlers.WatchedFileHandler(path)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(GodFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return handler


def reopen() -> None:
    """Reopen every log file of godpy's logger (SIGHUP, after log rotation)."""
    for handler in get_logger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.acquire()
            try:
                handler.close()
                handler.stream = handler._open()
            finally:
                handler.release()


def syslog_handler() -> logging.Handler | None:
    """A handler writing to the local syslog (ident ``godpy``), or None without /dev/log."""
    import os

    if not os.path.exists("/dev/log"):
        return None
    handler = logging.handlers.SysLogHandler(address="/dev/log")
    handler.ident = "godpy: "
    return handler
