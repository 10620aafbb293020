"""The state file: what the operator asked of each watch, kept outside the daemon.

A small JSON file, written atomically (write, fsync, rename, fsync the folder) by the
daemon's main loop whenever an operator or the lifecycle changes something. A godpy
started again with the same command line reads it: running processes are re-adopted
(pid and start time), a stopped watch stays stopped, counters and history carry on.
A corrupt file, or one of another version, is logged and ignored, never fatal.
"""

from __future__ import annotations

import json
import os

from godpy import swap_file
from godpy.log import get_logger
from godpy.pids import start_ticks
from godpy.trust import trust_problem

VERSION = 1


def default_path(socket_path: str) -> str:
    """``godpy.state`` next to ``godpy.sock``: the same command line finds the same file,
    in the socket's folder that only the daemon's user can write."""
    base, ext = os.path.splitext(os.path.abspath(socket_path))
    return (base if ext == ".sock" else base + ext) + ".state"


class StateFile:
    """Reads and writes the per-task records of one daemon.

    Args:
        path: the file.
    """

    #: Seconds between two writes while records keep changing: 200 watches starting at
    #: once make 600 records, and writing (and fsyncing) the whole file for each cost more
    #: than the starts themselves. What waits is safe: each watch's pid file already names
    #: its new process.
    GAP = 0.05

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        self.records: dict[str, dict] = {}  # what the file holds (or will, once flushed)
        #: each record's JSON text (``"name": {...}``), made once per change: a burst of
        #: restarts rewrites the file every GAP, and encoding every record each time was
        #: most of its cost; at 1,000 watches so was encoding every name
        self._json: dict[str, str] = {}
        self._order: list[str] | None = None  # the names, sorted (None: to sort again)
        self._unticked: set[str] = set()  # records whose pid's start time is to be read
        self.dirty = False
        self._written_at = float("-inf")  # monotonic time of the last paced write

    def load(self, names) -> dict[str, dict]:
        """Read the file, keep the records of tasks in ``names`` (the others are dropped,
        and the file rewritten at the next flush), and return them."""
        saved = self.read()
        self.records = {name: record for name, record in saved.items() if name in names}
        self._json.clear()
        self._order = None
        self._unticked = {n for n, r in self.records.items() if r.get("start_ticks") is None}
        gone = sorted(set(saved) - set(self.records))
        if gone:
            get_logger().info("state file: dropped %s (no longer in the config)", ", ".join(gone))
            self.dirty = True
        if self.records:
            get_logger().info(
                "state file: %d task(s) carry on from %s", len(self.records), self.path
            )
        return self.records

    def put(self, name: str, record: dict) -> None:
        """Task ``name``'s record changed. Its pid's start time (which, with the pid,
        identifies the process after a restart) is the one already known for that pid, or
        is read when the file is written: once per pid, on the main loop."""
        old = self.records.get(name)
        pid = record.get("pid")
        if pid is not None and record.get("start_ticks") is None and old and old.get("pid") == pid:
            record["start_ticks"] = old.get("start_ticks")
        if name not in self.records:
            self._order = None
        self.records[name] = record
        self._json.pop(name, None)
        if pid is not None and record.get("start_ticks") is None:
            self._unticked.add(name)
        self.dirty = True

    def drop(self, name: str) -> None:
        """Task ``name`` is gone (removed, or replaced by one that will send its own)."""
        self._json.pop(name, None)
        self._unticked.discard(name)
        if self.records.pop(name, None) is not None:
            self._order = None
            self.dirty = True

    def save(self, now: float) -> None:
        """Write the records if they changed and the last write is ``GAP`` seconds old."""
        if self.dirty and now >= self._written_at + self.GAP:
            self._written_at = now
            self.flush()

    def save_due_in(self, now: float) -> float | None:
        """Seconds until :meth:`save` would write held-back records (None: nothing held)."""
        return max(0.0, self._written_at + self.GAP - now) if self.dirty else None

    def flush(self) -> None:
        """Write the records if they changed; a failure is logged, never fatal."""
        if not self.dirty:
            return
        self.dirty = False
        for name in self._unticked:
            record = self.records.get(name)
            if record and record.get("pid") is not None and record.get("start_ticks") is None:
                record["start_ticks"] = start_ticks(record["pid"])
                self._json.pop(name, None)
        self._unticked.clear()
        try:
            self._replace_with(self._document())
        except OSError as exc:
            get_logger().warning("state file %s not written: %s", self.path, exc)

    def read(self) -> dict[str, dict]:
        """Task name -> record; empty (and a warning logged) when missing or unusable."""
        try:
            with open(self.path, "rb") as fh:
                data = json.loads(fh.read(4 * 1024 * 1024) or b"null")
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            return self._ignored(f"unreadable ({exc})")
        if not isinstance(data, dict) or data.get("version") != VERSION:
            found = data.get("version") if isinstance(data, dict) else type(data).__name__
            return self._ignored(f"version {found!r}, not {VERSION}")
        tasks = data.get("tasks")
        if not isinstance(tasks, dict) or not all(isinstance(v, dict) for v in tasks.values()):
            return self._ignored("no 'tasks' table")
        try:
            problem = trust_problem(self.path)
        except OSError as exc:
            problem = str(exc)
        if problem:
            return self._ignored(f"not trusted: {problem}")
        return tasks

    def _ignored(self, why: str) -> dict:
        get_logger().warning("state file %s ignored: %s; starting from the config", self.path, why)
        return {}

    def _document(self) -> bytes:
        """The file's text: what ``write(self.records)`` writes, from the cached records."""
        if self._order is None:
            self._order = sorted(self.records)
        parts = []
        for name in self._order:
            text = self._json.get(name)
            if text is None:
                record = json.dumps(self.records[name], sort_keys=True)
                text = self._json[name] = f"{json.dumps(name)}: {record}"
            parts.append(text)
        tasks = ", ".join(parts)
        return f'{{"tasks": {{{tasks}}}, "version": {VERSION}}}'.encode()

    def write(self, tasks: dict[str, dict]) -> None:
        """Replace the file with ``tasks`` (mode 0600), atomically and durably.

        Raises:
            OSError: the file could not be written (the old one is left as it was).
        """
        self._replace_with(
            json.dumps({"version": VERSION, "tasks": tasks}, sort_keys=True).encode()
        )

    def _replace_with(self, data: bytes) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        swap_file.write(self.path, data, 0o600, durable=True)
