"""Logging: God's line format, and the last lines of each watch kept in memory."""

from __future__ import annotations

import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
import time
from collections import deque

LOGGER_NAME = "godpy"
LEVELS = ("debug", "info", "warning", "error", "critical")

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """``url`` as godpy logs it: no userinfo, query or fragment, and no path past the first
    segment, since webhook tokens live there (``https://hooks.slack.com/services/…``).

    Parsed by hand rather than with urlsplit, so that a malformed URL (a password holding
    a ``/``) loses its userinfo too.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    main = re.split(r"[?#]", rest, maxsplit=1)[0]
    host, _, path = main.rpartition("@")[2].partition("/")
    first, _, more = path.partition("/")
    text = f"{scheme}://{host}" + (f"/{first}" if first else "")
    if more:
        return text + "/…"
    return text + ("?…" if len(main) < len(rest) else "")


def redact_urls(text: str) -> str:
    """``text`` with every URL in it redacted as ``redact_url`` does."""

    def one(match: re.Match) -> str:
        url = match.group(0)
        tail = len(url) - len(url.rstrip(".,;:)"))
        return redact_url(url[: len(url) - tail]) + url[len(url) - tail :]

    return _URL.sub(one, text) if "://" in text else text


class GodFormatter(logging.Formatter):
    """Format records as God does: ``I [2026-11-22 04:37:24]  INFO: message``.

    Every URL in a line (tracebacks included) is redacted (``redact_url``): whatever code
    logged it, a token in a webhook URL never reaches a log file.
    """

    def __init__(self):
        super().__init__("%(letter)s [%(asctime)s] %(levelpad)s: %(message)s", "%Y-%m-%d %H:%M:%S")
        self._second, self._stamp = -1, ""

    def format(self, record: logging.LogRecord) -> str:
        # Every handler (the log file, each watch's ring) shows the same line: format once.
        line = getattr(record, "_god_line", None)
        if line is None:
            record.letter = record.levelname[0]
            name = "WARN" if record.levelname == "WARNING" else record.levelname
            record.levelpad = name.rjust(5)
            line = record._god_line = redact_urls(super().format(record))
        return line

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # one strftime per second, not per line (a burst of restarts logs thousands)
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, super().formatTime(record, datefmt)
        return self._stamp


class LineWriter:
    """A stream handler that writes a batch of records in one ``write`` (see Background)."""

    def write_many(self, records: list) -> None:
        """Write ``records`` (those its filters pass) with one write and one flush."""
        records = [record for record in records if self.filter(record)]
        try:
            text = "".join(self.format(record) + self.terminator for record in records)
        except Exception:  # one record that cannot be formatted: each on its own
            for record in records:
                self.handle(record)
            return
        with self.lock:
            try:
                self.before_write()
                self.stream.write(text)
                self.stream.flush()
            except Exception:
                if records:
                    self.handleError(records[-1])

    def before_write(self) -> None:
        """Hook run before each batch, under the handler's lock."""


class StderrHandler(LineWriter, logging.StreamHandler):
    """godpy's log on standard error (``-D``)."""


class PrivateFileHandler(LineWriter, logging.handlers.WatchedFileHandler):
    """A log file created 0600 whatever the umask (a log may name hosts, users and
    commands); reopened when it was moved away (logrotate). An existing file keeps its
    mode, so an operator may share it with a group."""

    _checked = float("-inf")

    def emit(self, record: logging.LogRecord) -> None:
        self.before_write()
        logging.FileHandler.emit(self, record)

    def before_write(self) -> None:
        # Has the file been moved away? Asked once a second, not with a stat() per line.
        now = time.monotonic()
        if now - self._checked >= 1.0:
            self._checked = now
            self.reopenIfNeeded()
        if self.stream is None:
            self.stream = self._open()

    def _open(self):
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        fd = os.open(self.baseFilename, flags, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)  # noqa: SIM115


class WatchLogBuffer(logging.Handler):
    """Keep the last ``size`` formatted lines of each watch, for ``godpy log NAME``.

    A record belongs to a watch when it was logged with ``extra={"watch": name}``. Lines
    are formatted by GodFormatter, so URLs in them are redacted too.
    """

    def __init__(self, size: int = 100):
        super().__init__()
        self.size = size
        self._lines: dict[str, deque] = {}
        self._seq = 0
        self._lock_lines = threading.Lock()
        self.setFormatter(GodFormatter())

    def handle(self, record: logging.LogRecord) -> bool:
        # emit() takes its own lock: no need of the handler's
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "watch", None)
        if name is None:
            return
        # Kept as it is and formatted when read: a driver logs some eight lines per
        # restart, and `godpy log` reads few of them.
        kept = (record.created, record.levelname, record.getMessage())
        with self._lock_lines:
            self._seq += 1
            ring = self._lines.setdefault(name, deque(maxlen=self.size))
            ring.append((self._seq, kept))

    def lines(self, name: str, since: int = 0) -> tuple[int, list[str]]:
        """Lines of watch ``name`` numbered above ``since``, oldest first, and the last number.

        Pass the returned number back as ``since`` to get only newer lines (``log -f``).
        """
        with self._lock_lines:
            ring = list(self._lines.get(name, ()))
            last = self._seq
        return last, [self._line(kept) for seq, kept in ring if seq > since]

    def _line(self, kept: tuple[float, str, str]) -> str:
        created, level, message = kept
        record = logging.makeLogRecord({"created": created, "levelname": level, "msg": message})
        return self.format(record)

    def forget(self, name: str) -> None:
        """Drop the lines of a removed watch."""
        with self._lock_lines:
            self._lines.pop(name, None)


class Background(logging.Handler):
    """Hands each record to one writer thread, which passes it to ``target``.

    Measured with 200 watches starting at once: a third of the driver threads' samples
    were queued on the log file's lock while its holder waited for a write() (each wait
    hands the GIL round). Now a driver only formats the message and queues the record;
    lines keep their order. ``flush()`` waits until what was queued is written.

    The writer wakes for the first record, lets the rest of a burst gather for
    ``BATCH_WAIT``, and writes them together (``LineWriter.write_many``): a burst of
    restarts logs five lines each, and waking the writer and writing for each line cost
    a tenth of a restart.

    Args:
        target: the handler that writes (a file, stderr, syslog).
    """

    BATCH_WAIT = 0.005

    def __init__(self, target: logging.Handler):
        super().__init__(target.level)
        self.target = target
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="log-writer", daemon=True)
        self._thread.start()

    def handle(self, record: logging.LogRecord) -> bool:
        # no lock of our own to take: the queue is thread-safe
        if not self.filter(record):
            return False
        record.msg, record.args = record.getMessage(), None  # the values as they are now
        self._queue.put(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    def _write(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, logging.LogRecord):
                time.sleep(self.BATCH_WAIT)  # while a burst queues up: one wake, one write
            batch = [item]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not self._serve(batch):
                return

    def _serve(self, batch: list) -> bool:
        """Write the records of ``batch`` in order, setting its flush events; False at
        the stop mark (None)."""
        records = []
        for item in batch:
            if isinstance(item, logging.LogRecord):
                records.append(item)
                continue
            self._emit_many(records)
            records = []
            if item is None:
                return False
            item.set()
        self._emit_many(records)
        return True

    def _emit_many(self, records: list) -> None:
        if not records:
            return
        if isinstance(self.target, LineWriter):
            self.target.write_many(records)
        else:
            for record in records:
                self.target.handle(record)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait (at most ``timeout``) until every record queued so far is written."""
        if self._thread.is_alive():
            done = threading.Event()
            self._queue.put(done)
            done.wait(timeout)
        self.target.flush()

    def close(self) -> None:
        """Write what is queued, end the thread, close the target."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(5.0)
        self.target.close()
        super().close()


class WatchRecord(logging.LogRecord):
    """A record of a watch's line, made without ``LogRecord.__init__`` (which looks up
    the caller's file and module name for every line): what godpy's lines never show
    is a class default."""

    name = LOGGER_NAME
    pathname = filename = module = ""
    lineno = 0
    funcName = exc_info = exc_text = stack_info = None
    thread = threadName = processName = process = taskName = None

    def __init__(self, level: int, message: str, args: tuple, watch: str):  # noqa: D107
        self.levelno, self.levelname = level, logging.getLevelName(level)
        self.msg, self.args, self.watch = message, args, watch
        self.created = now = time.time()
        self.msecs = int(now * 1000) % 1000
        self.relativeCreated = (now - logging._startTime) * 1000


def watch_log(level: int, message: str, args: tuple, watch: str) -> None:
    """Log ``message % args`` for watch ``watch``, as ``get_logger().log(level, message,
    *args, extra={"watch": watch})`` does, at a fraction of the cost: a driver logs
    five lines a restart, and the logging module's own path (a full record, the
    logger's and each handler's locks) cost a sixth of a restart in a burst. When the
    logger propagates or filters (tests), the logging module's path is taken."""
    logger = _LOGGER
    if not logger.isEnabledFor(level):
        return
    if logger.propagate or logger.filters or logger.disabled:
        logger.log(level, message, *args, extra={"watch": watch})
        return
    record = WatchRecord(level, message, args, watch)
    for handler in logger.handlers:
        if level >= handler.level:
            handler.handle(record)


def drain() -> None:
    """Write every queued line of godpy's logger now (before ``os._exit``)."""
    for handler in get_logger().handlers:
        handler.flush()


def get_logger() -> logging.Logger:
    """Return godpy's one logger."""
    return _LOGGER


_LOGGER = logging.getLogger(LOGGER_NAME)


def setup(level: str = "info", path: str | None = None) -> logging.Handler:
    """Send godpy's log to ``path`` (appending) or to stderr, at ``level``.

    A log file is created 0600 and reopened when it was moved away (logrotate) and on
    ``reopen()``.

    Returns:
        the handler installed, so the caller can remove it again.
    """
    logger = get_logger()
    if path:
        handler: logging.Handler = PrivateFileHandler(path)
    else:
        handler = StderrHandler(sys.stderr)
    handler.setFormatter(GodFormatter())
    handler = Background(handler)
    # A line shows neither the caller's source line nor thread or process names: skip
    # looking them up (the logging HOWTO's "Optimization"; a third of a record's cost).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return handler


def reopen() -> None:
    """Reopen every log file of godpy's logger (SIGHUP, after log rotation)."""
    for handler in get_logger().handlers:
        handler = getattr(handler, "target", handler)
        if isinstance(handler, logging.FileHandler):
            handler.acquire()
            try:
                handler.close()
                handler.stream = handler._open()
            finally:
                handler.release()


def syslog_handler() -> logging.Handler | None:
    """A handler writing to the local syslog (ident ``godpy``), or None without /dev/log."""
    if not os.path.exists("/dev/log"):
        return None
    handler = logging.handlers.SysLogHandler(address="/dev/log")
    handler.ident = "godpy: "
    return handler
