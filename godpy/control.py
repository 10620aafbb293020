"""The commands a client may call on a running daemon; each returns plain data.

Commands reach a task only as messages to its driver (the driver thread stays the only
one that changes a task's state); a command that reports a result waits for it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone

from godpy import system
from godpy.configurable import suggest
from godpy.dependencies import names_of, plan, ready
from godpy.errors import ConfigError
from godpy.rpc import short
from godpy.version import __version__

#: The names a client may call; nothing else is reachable over the socket.
METHODS = (
    "ping",
    "version",
    "status",
    "command",
    "log",
    "tail",
    "load",
    "remove",
    "signal",
    "terminate",
    "quit",
    "check",
    "notify_test",
    "events",
)
COMMANDS = ("start", "stop", "restart", "monitor", "unmonitor")
LOAD_ACTIONS = ("leave", "stop", "remove")
#: The longest name (watch, group, contact, command or signal) a client may send; a
#: longer one is refused at once, before any lookup or did-you-mean search.
MAX_NAME = 256
#: The longest config path ``load`` takes (PATH_MAX).
MAX_PATH = 4096
#: ``events`` callers that may wait at once: each holds one of the control socket's 16
#: workers (``listener.Limits``) while it waits, and status or restart need the others.
#: Past this many, ``events`` answers at once with ``busy`` and the caller polls.
MAX_WAITING = 8
#: The longest an ``events`` call waits for an event, in seconds.
MAX_EVENT_WAIT = 5.0


def checked_name(value, what: str = "name", limit: int = MAX_NAME):
    """``value`` if it is None or a string of at most ``limit`` characters.

    Raises:
        ValueError: anything else (the message shows only the start of a long string).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"a {what} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise ValueError(
            f"{what} '{value[:20]}...' is too long ({len(value)} characters; at most {limit})"
        )
    return value


#: A status row's fields before the task's snapshot fills them in.
_ROW = {"name": None, "group": None, "state": None, "pid": None, "uptime": None,
        "restarts": 0, "memory": None, "cpu": None, "reason": None, "next_start_in": None,
        "kind": "task", "action": None}  # fmt: skip


class ControlApi:
    """What the control socket serves, on top of a running Daemon.

    Args:
        daemon: the running daemon (its tasks, event handler, log buffer).
    """

    def __init__(self, daemon):
        self.daemon = daemon
        #: pid -> (start time, monotonic clock, CPU seconds) at the last status call
        self._usage: dict[int, tuple[int, float, float]] = {}
        self._waiting = threading.BoundedSemaphore(MAX_WAITING)

    # -- names -----------------------------------------------------------------------
    def resolve(self, name: str | None) -> list:
        """Tasks named by ``name``: a watch, a group, or all (``None``, ``""``, ``"all"``).

        Raises:
            LookupError: no watch or group of that name (with a close match).
            ValueError: ``name`` is not a string, or longer than MAX_NAME.
        """
        name = checked_name(name)
        tasks = self.daemon.tasks
        if not name or name == "all":
            return sorted(tasks.values(), key=lambda t: t.name)
        if name in tasks:
            return [tasks[name]]
        group = sorted((t for t in tasks.values() if t.group == name), key=lambda t: t.name)
        if group:
            return group
        known = set(tasks) | {t.group for t in tasks.values() if t.group}
        raise LookupError(f"no watch or group named '{name}'{suggest(name, known)}")

    # -- simple --------------------------------------------------------------------------
    def ping(self) -> str:
        """Answer 'pong' (clients use it to see that the daemon is up)."""
        return "pong"

    def version(self) -> str:
        """The daemon's version."""
        return __version__

    def status(self, name: str | None = None, usage: bool = True) -> list[dict]:
        """Plain data for each selected task, sorted by group then name.

        ``usage=False`` leaves memory and cpu None (the table shows neither; reading them
        is most of the time this takes for many watches).
        """
        rows = [self._row(t, usage) for t in self.resolve(name)]
        if usage and (not name or name == "all"):  # forget processes no watch has any more
            live = {r["pid"] for r in rows}
            self._usage = {pid: v for pid, v in self._usage.items() if pid in live}
        return sorted(rows, key=lambda r: (r["group"] or "", r["name"]))

    def _row(self, task, usage: bool = True) -> dict:
        row = dict(_ROW)
        row.update(task.snapshot())  # a task's snapshot names its kind
        depends = getattr(task, "depends_on", None)
        row["depends_on"] = list(names_of(depends)) if depends else []
        row["ready"] = ready(row)
        if usage and row["pid"]:
            row["memory"], row["cpu"] = self._usage_of(row["pid"])
        return row

    def _usage_of(self, pid: int) -> tuple[int | None, float | None]:
        """Resident KB, and CPU % (of one core, as top) since the last status call (0.0
        the first time a process is seen), as psutil's memory_info and cpu_percent."""
        try:
            started, rss, cpu = system.usage(pid)
        except (OSError, ValueError, IndexError):
            self._usage.pop(pid, None)
            return None, None
        now = time.monotonic()
        last = self._usage.get(pid)
        self._usage[pid] = (started, now, cpu)
        if last is None or last[0] != started or now <= last[1]:
            return rss // 1024, 0.0
        return rss // 1024, round((cpu - last[2]) / (now - last[1]) * 100, 1)

    # -- commands ------------------------------------------------------------------------
    def command(
        self, command: str, name: str | None, wait: bool = True, timeout: float = 30.0
    ) -> dict:
        """Send ``command`` to each selected task; with ``wait``, wait for the outcome.

        ``start``, ``monitor`` and ``restart`` wait until each watch is up with a live
        process or has clearly failed; ``stop`` and ``unmonitor`` until it is done. The
        drivers resolve the futures waited on here.

        Returns:
            ``{"affected": [...], "results": {name: {"state", "ok", "reason"}}}``
            (``results`` is empty without ``wait``).
        """
        if checked_name(command, "command") not in COMMANDS:
            raise ValueError(f"unknown command '{command}'{suggest(command, COMMANDS)}")
        steps = self._steps(command, self.resolve(name))
        tasks = self.daemon.tasks
        result = {"affected": sorted({n for step in steps for _, n in step}), "results": {}}
        deadline = time.monotonic() + timeout
        for i, step in enumerate(steps):
            futures = [(tasks[n], tasks[n].driver.message("control", c)) for c, n in step]
            if wait or i < len(steps) - 1:  # what depends on a watch stops before it
                for task, future in futures:
                    outcome = self._outcome(task, future, deadline, timeout)
                    result["results"][task.name] = outcome
        if not wait:
            result["results"] = {}
        return result

    def _steps(self, command: str, tasks: list) -> list[list[tuple[str, str]]]:
        """``command`` on ``tasks`` as steps that respect their dependencies."""
        graph, names = self.daemon.graph, [t.name for t in tasks]
        near = {m for n in names for m in graph.dependencies(n, True) + graph.dependents(n, True)}
        rows = {n: self.daemon.tasks[n].snapshot() for n in near if n in self.daemon.tasks}
        monitored = {n for n, row in rows.items() if row["state"] != "unmonitored"}
        ready_now = {n for n, row in rows.items() if ready(row)}
        return plan(graph, command, names, monitored, ready_now)

    @staticmethod
    def _outcome(task, future, deadline: float, timeout: float) -> dict:
        waiting = future
        try:
            outcome = future.result(max(0.0, deadline - time.monotonic()))
            if isinstance(outcome, Future):
                waiting = outcome
                outcome = outcome.result(max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            waiting.cancel()  # the driver forgets a waiter nobody waits for
            snap = task.snapshot()
            state = snap.get("action") or snap["state"]
            reason = f"still {state} after {timeout:g}s" + (
                f": {snap['reason']}" if snap.get("reason") else ""
            )
            return {"state": snap["state"], "ok": False, "reason": reason}
        except Exception as exc:
            return {"state": task.state, "ok": False, "reason": str(exc)}
        return outcome

    def signal(self, name: str | None, sig) -> dict:
        """Send a signal to each selected watch's process: ``{name: pid or None}``."""
        from godpy.process import signal_number

        if not isinstance(sig, int):
            checked_name(sig, "signal")
        signal_number(sig)  # a bad name is the caller's error, before anything is sent
        tasks = [t for t in self.resolve(name) if hasattr(t, "send_signal")]
        futures = {t.name: t.driver.message("send_signal", sig) for t in tasks}
        return {n: f.result(30) for n, f in futures.items()}

    def log(self, name: str, since: int = 0) -> dict:
        """The kept log lines of watch ``name`` newer than ``since``, and the new mark."""
        tasks = self.resolve(name)
        if len(tasks) != 1 or tasks[0].name != name:
            raise LookupError(f"'{name}' is a group; `log` takes one watch name")
        last, lines = self.daemon.log_buffer.lines(name, since)
        return {"since": last, "lines": lines}

    def tail(self, name: str, stderr: bool = False, lines: int = 10, since=None) -> dict:
        """The program's own kept output (stdout, or stderr): the last ``lines`` lines,
        or with ``since`` (a cursor from an earlier answer) what came after it."""
        tasks = self.resolve(name)
        if len(tasks) != 1 or tasks[0].name != name:
            raise LookupError(f"'{name}' is a group; `tail` takes one watch name")
        if getattr(tasks[0], "process", None) is None:
            raise LookupError(f"'{name}' is not a watch: it has no program output")
        if isinstance(lines, bool) or not isinstance(lines, int) or not 0 <= lines <= 1000:
            raise ValueError("lines must be a whole number from 0 to 1000")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
            raise ValueError("since must be a cursor from an earlier answer")
        stream = "err" if stderr is True else "out"
        try:
            return self.daemon.output.tail(name, stream, lines, since)
        except (ConnectionError, TimeoutError) as exc:
            raise RuntimeError(f"no output of '{name}' is kept: {exc}") from None

    def events(
        self, since: int | None, name: str | None = None, timeout: float = 1.0, last: int = 0
    ) -> dict:
        """Events of watch or group ``name`` (all: None) after sequence number ``since``.

        A long poll: when none has come yet, wait up to ``timeout`` seconds for one.
        ``since=None`` starts a stream: it checks ``name`` (with a close match) and
        returns the newest sequence number, with up to ``last`` kept events.

        Returns:
            ``{"seq": newest seq, "events": [...], "closed": the daemon is ending,
            "busy": too many callers wait already (this one did not: poll again later)}``.
        """
        log = self.daemon.event_log
        name = None if checked_name(name) in (None, "", "all") else name
        if since is None:
            if name is not None:
                self.resolve(name)
            seq, events = log.last(_count(last, "last", 10**6), name)
            return {"seq": seq, "events": _stamped(events), "closed": log.closed, "busy": False}
        since = _count(since, "since", None)
        busy = not self._waiting.acquire(blocking=False)
        try:
            wait = 0.0 if busy else min(_seconds(timeout), MAX_EVENT_WAIT)
            seq, events = log.wait(since, name, wait)
        finally:
            if not busy:
                self._waiting.release()
        return {"seq": seq, "events": _stamped(events), "closed": log.closed, "busy": busy}

    def remove(self, name: str, stop: bool = False) -> list[str]:
        """Stop monitoring and forget the selected tasks (processes left running)."""
        tasks = self.resolve(name)
        for task in tasks:  # the main loop alone changes the set of tasks
            self.daemon.submit(self.daemon.remove_task, task, stop).result()
        return [t.name for t in tasks]

    def load(self, path: str, action: str = "leave", insecure: bool = False) -> dict:
        """Load a config into the running daemon (see Daemon.load_more); ``insecure``
        is ``godpy load --insecure-config``."""
        checked_name(path, "config path", MAX_PATH)
        if action not in LOAD_ACTIONS:
            raise ValueError(
                f"load action must be one of {', '.join(LOAD_ACTIONS)}, not '{action}'"
            )
        try:
            load = self.daemon.submit(self.daemon.load_more, path, action, insecure is True)
            return load.result()
        except ConfigError as exc:
            return {"errors": exc.problems, "results": {}}

    def terminate(self) -> dict:
        """Stop every watch, then the daemon; returns once the watches are stopped."""
        return self.daemon.request_exit(stop_watches=True)

    def quit(self) -> dict:
        """Stop the daemon and leave the watched processes running."""
        return self.daemon.request_exit(stop_watches=False)

    def check(self) -> dict:
        """Which event system is in use, and a live self-test of it."""
        events = self.daemon.events
        if not events.loaded:
            return {
                "events": "polling",
                "ok": False,
                "detail": "process-exit events are off; watches poll",
            }
        started = time.monotonic()
        ok = events.self_test()
        took = (time.monotonic() - started) * 1000
        detail = (
            f"exit event of a test process received in {took:.1f} ms"
            if ok
            else ("no exit event received for a test process within 2 s")
        )
        return {"events": events.backend.name, "ok": ok, "detail": detail}

    def notify_test(self, name: str, wait: float = 30.0) -> list[dict]:
        """Send a test message to contact or group ``name`` (once, not throttled).

        Returns:
            one ``{"contact": name, "ok": bool, "detail": info or error}`` per contact,
            once each has an outcome or ``wait`` seconds have passed.
        """
        checked_name(name, "contact name")
        notifier = self.daemon.notifier
        if notifier is None:
            raise RuntimeError("the daemon's notifier is not running")
        outcomes = notifier.send_test(name, float(wait))
        return [
            {"contact": contact, "ok": ok, "detail": detail}
            for contact, (ok, detail) in sorted(outcomes.items())
        ]


def _count(value, what: str, limit: int | None) -> int:
    """``value`` if it is a whole number from 0 to ``limit``; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a whole number of at least 0, not {short(value)}")
    return value if limit is None else min(value, limit)


def _seconds(value) -> float:
    """``value`` as seconds if it is a number >= 0; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"timeout must be a number of seconds, not {short(value)}")
    return float(value)


def _stamped(events: list[dict]) -> list[dict]:
    """Events with their time as ISO 8601 UTC (``2026-11-30T17:40:01.123Z``)."""
    return [{**event, "time": iso_time(event["time"])} for event in events]


def iso_time(seconds: float) -> str:
    """``2026-11-30T17:40:01.123Z`` for a time in seconds since the epoch."""
    stamp = datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")
