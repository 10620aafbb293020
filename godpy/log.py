"""Logging: God's line format, and the last lines of each watch kept in memory."""

from __future__ import annotations

import logging
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
        self._lock_lines = threading.Lock()
        self.setFormatter(GodFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "watch", None)
        if name is None:
            return
        line = self.format(record)
        with self._lock_lines:
            self._lines.setdefault(name, deque(maxlen=self.size)).append(line)

    def lines(self, name: str) -> list[str]:
        """Return the kept lines of watch ``name``, oldest first."""
        with self._lock_lines:
            return list(self._lines.get(name, ()))

    def forget(self, name: str) -> None:
        """Drop the lines of a removed watch."""
        with self._lock_lines:
            self._lines.pop(name, None)


def get_logger() -> logging.Logger:
    """Return godpy's one logger."""
    return logging.getLogger(LOGGER_NAME)


def setup(level: str = "info", path: str | None = None) -> logging.Handler:
    """Send godpy's log to ``path`` (appending) or to stderr, at ``level``.

    Returns:
        the handler installed, so the caller can remove it again.
    """
    logger = get_logger()
    handler = logging.FileHandler(path) if path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(GodFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return handler
