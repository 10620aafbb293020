"""Process control: spawn, pid files, signals, stop escalation and reaping.

A watched process that does not daemonize itself is started in its own session and stays
godpy's child, so godpy reaps it and knows its exact exit status. A process is identified
by its pid *and* its start time, so a recycled pid is never mistaken for it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable

from godpy import launch
from godpy.children import Children, exited, zombie_soon
from godpy.command_runner import run_command
from godpy.launch import EXIT_LOG, ProcessSpec
from godpy.pids import (
    START_TIME_SLACK,
    age,
    describe_status,
    identity,
    read_pid_file,
    remove_pid_file,
    start_ticks,
    trusted,
    write_pid_file,
)
from godpy.process_group import Target, live_members, members_trusted, signal_name

_POLL = 0.005


def signal_number(sig) -> int:
    """Accept ``"TERM"``, ``"SIGTERM"``, ``15`` or ``signal.SIGTERM``."""
    if isinstance(sig, int):
        return int(sig)
    name = str(sig).upper()
    if name.isdigit():
        return int(name)
    name = name if name.startswith("SIG") else f"SIG{name}"
    try:
        return int(getattr(signal.Signals, name))
    except AttributeError:
        raise ValueError(f"unknown signal {sig!r}; use e.g. 'TERM', 'HUP' or 9") from None


class Process:
    """One watched process: start, stop, restart, signal, and who it is now.

    Every method but ``observe()`` runs on the owning watch's driver thread.

    Args:
        spec: what to run.
        log: ``log(level, message, *args)`` of the owning watch.
        children: the daemon's child tracker (reaps on SIGCHLD).
    """

    def __init__(self, spec: ProcessSpec, log: Callable, children: Children | None = None):
        self.spec = spec
        self._log = log
        self._children = children or Children()
        self._popen: subprocess.Popen | None = None
        self._old: list[subprocess.Popen] = []  # replaced children not reaped yet
        self._tracked: tuple[int, float] | None = None  # (pid, start time)
        self._pgid: int | None = None  # the tracked process's group, for cleanup
        #: True when that group is vouched for: godpy created it (its child's session), or
        #: the trusted process we tracked led it
        self._group_trusted = False
        self.tracked_since: float | None = None  # monotonic time we learned the pid
        self._started_at: float | None = None  # monotonic time of our last start
        self._exited_at: float | None = None
        self._start_wall: float | None = None  # wall time of our last start (pid trust)
        self.last_exit: str | None = None
        #: the last exit's Popen return code (-9: killed by SIGKILL); it stays while the
        #: next process runs, and is None when unknown (a process we did not spawn)
        self.last_code: int | None = None
        self.restarts = 0  # starts after the first, for whatever reason
        self._starts = 0
        self._stopping = False
        self._env: dict[str, str] | None | bool = False  # False: not worked out yet
        self._fingerprint: str | None = None
        self._warned = False  # the "does it daemonize itself?" hint, once
        self._reaped: int | None = None  # the pid of our child reaped last
        #: called from the daemon's main thread when our child has exited; returns True
        #: when the driver will reap it (the watch sets it)
        self.on_exit: Callable[[], bool] | None = None
        #: the watch's output channel (``godpy.output.Channel``); None: straight to the logs
        self.output = None
        #: ``on_event(kind, fields)``: a start, stop, exit or failed start, for the
        #: daemon's EventLog (the watch sets it)
        self.on_event: Callable[[str, dict], None] | None = None
        #: called when a stop has sent its signal, before it waits (the watch sets it)
        self.on_sent: Callable[[], object] | None = None
        #: NOTIFY_SOCKET (and WATCHDOG_USEC) for an sd_notify watch (set before it runs)
        self.notify_env: dict[str, str] | None = None

    def inherit(self, old: Process) -> None:
        """Take over the child and history of the process this one replaces (``load``)."""
        for name in (
            "_popen",
            "_old",
            "_tracked",
            "_pgid",
            "_group_trusted",
            "tracked_since",
            "_started_at",
            "_exited_at",
            "_start_wall",
            "last_exit",
            "last_code",
            "restarts",
            "_starts",
        ):
            setattr(self, name, getattr(old, name))
        for popen in [self._popen, *self._old]:
            if popen is not None:
                self._children.add(popen, self._owner)

    def export(self) -> dict:
        """What the state file keeps of this process (built after a move or a command,
        when the driver has just refreshed it: a pure read)."""
        return {
            "pid": self.pid,
            # filled in by the state file (main loop), once per pid: not on a driver's path
            "start_ticks": None,
            "restarts": self.restarts,
            "starts": self._starts,
            "last_exit": self.last_exit,
            "last_code": self.last_code,
            "spec": self.fingerprint(),
        }

    def fingerprint(self) -> str:
        """A digest of how the process is run: a changed one means a restart is due."""
        if self._fingerprint is None:  # the spec never changes (a reload makes a new one)
            self._fingerprint = hashlib.sha1(repr(self.spec).encode()).hexdigest()[:16]
        return self._fingerprint

    def restore(self, saved: dict) -> bool:
        """Take back what an earlier godpy knew; True when its process still runs.

        The process is re-adopted only when the same pid has the same start time and runs
        as the watch's user: a pid reused by an unrelated process is not ours.
        """
        self.restarts = int(saved.get("restarts") or 0)
        # after a terminate, the next start is a first start again, not a restart
        self._starts = 0 if saved.get("halted") else int(saved.get("starts") or 0)
        self.last_exit = saved.get("last_exit")
        code = saved.get("last_code")
        self.last_code = code if isinstance(code, int) else None
        pid, ticks = saved.get("pid"), saved.get("start_ticks")
        if not isinstance(pid, int) or ticks is None or start_ticks(pid) != ticks:
            return False
        started = trusted(pid, self.spec.uid)
        if started is None:
            return False
        self._track((pid, started))
        return True

    def _emit(self, kind: str, fields: dict) -> None:
        if self.on_event is not None:
            self.on_event(kind, fields)

    def _owner(self) -> bool:
        return self.on_exit is not None and self.on_exit()

    # -- identity ------------------------------------------------------------------------
    @property
    def pid_file(self) -> str:
        """The pid file: ``pid_file`` if set, else ``<pid_file_directory>/<name>.pid``."""
        return self.spec.pid_file or os.path.join(
            self.spec.pid_file_directory, f"{self.spec.name}.pid"
        )

    @property
    def self_daemonizing(self) -> bool:
        """True when the start command daemonizes itself and writes ``pid_file``."""
        return self.spec.pid_file is not None

    @property
    def pid(self) -> int | None:
        """The pid of the live watched process as godpy last knew it, or None: a pure read
        (nothing reaped, no pid file read); ``current_pid()`` brings it up to date."""
        popen = self._popen
        if popen is not None and popen.returncode is None:
            return None if exited(popen.pid) else popen.pid
        tracked = self._tracked
        if tracked and identity(tracked[0]) == tracked[1]:
            return tracked[0]
        return None

    def current_pid(self) -> int | None:
        """Bring what godpy knows up to date, then return the live pid (driver only):
        reap our child, notice a tracked process gone, follow the pid file."""
        self.reap()
        if self._popen is not None:
            return self._popen.pid
        if self._reaped is not None and not self.self_daemonizing:
            return None  # our child is dead and no start since: nothing to look for
        tracked = self._tracked
        if tracked and not self.self_daemonizing:
            if identity(tracked[0]) == tracked[1]:
                return tracked[0]
            self._lost(tracked[0])
        if self.self_daemonizing or self._tracked is None:
            self._track(self._adopt())
            if tracked and self._tracked is None:
                if identity(tracked[0]) == tracked[1]:  # the file names a stranger now
                    self._tracked = tracked
                    return tracked[0]
                self._lost(tracked[0])
        return self._tracked[0] if self._tracked else None

    def _adopt(self) -> tuple[int, float] | None:
        found = read_pid_file(self.pid_file)
        if found is None:
            return None
        pid, mtime = found
        started = trusted(pid, self.spec.uid, self._start_wall)
        if started is None or started > mtime + START_TIME_SLACK:
            return None
        return pid, started

    def _track(self, found: tuple[int, float] | None) -> None:
        if found is not None and found != self._tracked:
            self.tracked_since = time.monotonic()
            try:
                self._pgid = os.getpgid(found[0])
            except ProcessLookupError:
                found = None
            else:  # a trusted process leading its group vouches for it, even once gone
                self._group_trusted = self._pgid == found[0]
        self._tracked = found

    def _group(self) -> int | None:
        """The process group to signal, or None for the main pid only.

        A group godpy created (its child's session) is ours. An adopted process's group
        is signalled only when the process leads it, or when every live member runs as
        the watch's user: a pid file proves nothing about other users' processes.
        """
        pgid = self._pgid
        if pgid is None or self.spec.kill_mode != "group":
            return None
        if self._group_trusted:
            return pgid
        return pgid if members_trusted(pgid, self.spec.uid) else None

    def _lost(self, pid: int) -> None:
        """A process we tracked (but did not spawn) is gone."""
        if self._tracked is not None or self.self_daemonizing:  # not twice (current_pid)
            self._emit("exit", {"pid": pid, "code": None, "signal": None})  # status unknown
        self._tracked = None
        if self._exited_at is None:
            self._exited_at = time.monotonic()
            self.last_exit = self.last_exit or f"process {pid} exited"
            self.last_code = None  # not our child: its status is not ours to read

    def alive(self) -> bool:
        """True when the watched process is running."""
        return self.pid is not None

    def reap(self) -> str | None:
        """Collect our children's exit statuses; return the last exit's reason text."""
        for old in list(self._old):
            if old.poll() is not None:
                self._old.remove(old)
                self._children.discard(old)
        if self._popen is not None and self._popen.poll() is not None:
            self._children.discard(self._popen)
            self._record_exit(self._popen.returncode)
        return self.last_exit

    def collect(self, pid: int | None, returncode: int | None = None) -> str | None:
        """The kernel says ``pid`` exited with ``returncode``: if it is our child, it is
        gone from now on; return the reason (None for a process that is not our child).

        The exit event comes a moment before the process becomes a zombie: waiting for
        that would cost the restart a sleep, so the event's status is taken and the child
        is reaped later (SIGCHLD).
        """
        popen = self._popen
        if popen is None or popen.pid != pid:
            self.reap()  # ours, reaped already (SIGCHLD came first): its status is known
            return self.last_exit if pid is not None and pid == self._reaped else None
        if zombie_soon(popen) is None and returncode is not None:
            self._old.append(popen)
            self._record_exit(returncode, popen)
        return self.reap()

    def _record_exit(self, returncode: int, popen=None) -> None:
        popen = popen or self._popen
        self._reaped = popen.pid if popen is not None else None
        self._exited_at = time.monotonic()
        self.last_exit = describe_status(returncode)
        self.last_code = returncode
        code, sig = (None, signal_name(-returncode)) if returncode < 0 else (returncode, None)
        self._emit("exit", {"pid": self._reaped, "code": code, "signal": sig})
        if returncode == EXIT_LOG and self.spec.switches_user:
            logs = " or ".join(p for p in (self.spec.log, self.spec.err_log) if p)
            self.last_exit = f"failed to start: cannot open {logs} as uid {self.spec.uid}"
            self._emit("failed", {"pid": self._reaped, "reason": self.last_exit})
        lived = self.lived()
        quick = returncode == 0 and lived is not None and lived < 1.0
        if quick and not (self.self_daemonizing or self._stopping or self._warned):
            self._warned = True
            self._log(
                30,
                "process exited with code 0 %.2fs after start; if the start command "
                "daemonizes itself, set pid_file to the file it writes",
                lived,
            )
        self._popen = None
        self._tracked = None

    def exit_reason(self) -> str | None:
        """``last_exit`` with how long the run lasted: ``exited with code 3 after 0.01s``."""
        lived = self.lived()
        if self.last_exit is None or lived is None or self._exited_at is None:
            return self.last_exit
        if self.last_exit.startswith(("failed to start", "start command")):
            return self.last_exit
        return f"{self.last_exit} after {lived:.2f}s"

    def lived(self) -> float | None:
        """Seconds the last run we started lasted (so far); None for an adopted one."""
        if self._started_at is None:
            return None
        return (self._exited_at or time.monotonic()) - self._started_at

    def observe(self) -> tuple[int | None, float | None]:
        """(pid, uptime) for status, from any thread: it only reads, and reaps nothing."""
        tracked, popen, started_at = self._tracked, self._popen, self._started_at
        if not tracked:
            return None, None
        if popen is not None and popen.pid == tracked[0] and started_at is not None:
            # our own child: alive by one waitid, its age from when godpy started it
            # (no /proc read: status of 1,000 watches spent 50 ms on them)
            if popen.returncode is not None or exited(popen.pid):
                return None, None
            return tracked[0], max(0.0, time.monotonic() - started_at)
        started = identity(tracked[0])  # one read of /proc per adopted process
        if started is None or started != tracked[1]:
            return None, None
        return tracked[0], max(0.0, time.time() - started)

    def claims(self, pid: int, group: int | None) -> bool:
        """Whether a process ``pid`` of process group ``group`` may speak for this watch:
        its process, or a member of the group godpy made for it (any thread: a pure read;
        the driver checks again with :meth:`sent_by`)."""
        tracked = self._tracked
        if not tracked:
            return False
        in_group = self._group_trusted and group is not None and group == self._pgid
        return pid == tracked[0] or in_group

    def sent_by(self, pid: int) -> bool:
        """:meth:`claims`, with what is true now (driver): ``pid`` is the live watched
        process, or in its process group when godpy vouches for that group (its child's
        session, or led by the process it tracks)."""
        main = self.current_pid()
        if main is None:
            return False
        if pid == main:
            return True
        if not self._group_trusted or self._pgid is None:
            return False
        try:
            return os.getpgid(pid) == self._pgid
        except OSError:
            return False

    def uptime(self) -> float | None:
        """Seconds since the tracked process started, or None."""
        pid = self.pid
        return None if pid is None else age(pid)

    # -- actions -------------------------------------------------------------------------
    def settle(self) -> bool:
        """Before a start: make sure the process is gone, and clean up what it left.

        Returns True when a live process was found after all (the pid file names a new
        one: a USR2 upgrade), so no start is needed. For a ``pid_file`` watch whose old
        process group still has live members, wait up to ``pid_file_grace`` for the pid
        file to name a new live process. Otherwise what is left of the old group gets
        ``stop_signal``, then SIGKILL after ``stop_timeout``.
        """
        if self.current_pid() is not None:
            return True
        pgid = self._pgid
        upgrading = pgid is not None and self.self_daemonizing and live_members(pgid)
        if upgrading and self._await_pid_file(self.spec.pid_file_grace, pgid):
            self._log(20, "adopted pid %d from %s", self._tracked[0], self.pid_file)
            return True
        group = self._group()
        if group is not None and live_members(group):
            self._log(20, "cleaning up what is left of process group %d", group)
            Target(None, group).stop(
                self.spec.stop_signal, self.spec.stop_timeout, self._log, self.reap
            )
        self._pgid = None
        return False

    def _await_pid_file(self, timeout: float, group: int | None = None) -> bool:
        """Wait for the pid file to name a live process; give up after ``timeout``, or as
        soon as old process ``group`` (whose member would write it) has no one left."""
        deadline = time.monotonic() + timeout
        while self.current_pid() is None:
            if time.monotonic() >= deadline or (group is not None and not live_members(group)):
                return self.current_pid() is not None
            time.sleep(_POLL * 2)
        return True

    def start(self) -> None:
        """Start the process (or run a self-daemonizing start command and wait for it).

        The last exit's reason stays until the new process runs: status read meanwhile
        shows why the previous attempt failed, not nothing."""
        self._starts += 1
        self.restarts += self._starts > 1
        self._started_at, self._exited_at = time.monotonic(), None
        self._start_wall = time.time()
        self._reaped = None
        if self._popen is not None:  # exiting, not reaped yet: reap it later
            self._old.append(self._popen)
            self._popen = None
        self._tracked = None
        if self.self_daemonizing:
            self.last_exit = None
            self._start_daemonizing()
            return
        try:
            writers = self.output.writers() if self.output is not None else None
            try:
                popen = self._spawn(self.spec.start, owner=self._owner, writers=writers)
            finally:
                if writers is not None:
                    self.output.spawned()
        except (OSError, subprocess.SubprocessError, ValueError) as exc:  # unbalanced quotes
            self._exited_at = self._started_at
            self.last_exit = f"failed to start: {exc}"
            self._log(40, "start failed: %s", exc)
            self._emit("failed", {"pid": None, "reason": self.last_exit})
            return
        self._popen, self.last_exit = popen, None
        self._emit("start", {"pid": popen.pid})
        # Its start time is read from /proc when needed: right after the fork the child is
        # still exec'ing, and reading it then took 0.3 ms of every start.
        self._tracked = (popen.pid, None)
        self._pgid, self._group_trusted, self.tracked_since = popen.pid, True, self._started_at
        try:
            write_pid_file(self.pid_file, popen.pid)
        except OSError as exc:
            self._log(30, "could not write pid file %s: %s", self.pid_file, exc)

    def _start_daemonizing(self) -> None:
        code = self._run_command("start", self.spec.start, self.spec.start_timeout)
        if code == 0 and self._await_pid_file(self.spec.pid_file_grace):
            self._emit("start", {"pid": self._tracked[0]})
            return
        self._exited_at = time.monotonic()
        if code is None:
            self.last_exit = "start command failed"
        elif code:
            self.last_exit = f"start command exited with code {code}"
        else:
            self.last_exit = (
                f"start command exited with code 0 but {self.pid_file} names no live process "
                f"of uid {self.spec.uid} after {self.spec.pid_file_grace:g}s"
            )
        self._emit("failed", {"pid": None, "reason": self.last_exit})

    def stop(self) -> None:
        """Stop the process: stop command or ``stop_signal`` to its group, then SIGKILL.

        When the main process is already gone, what is left of its group is stopped.
        """
        pid = self.current_pid()
        target = Target(pid, self._group())
        if target or self.spec.stop is not None:  # not when there is nothing to stop
            self._emit("stop", {"pid": pid})
        self._stopping = True
        try:
            if self.spec.stop is not None:
                self._run_command("stop", self.spec.stop, self.spec.stop_timeout)
                target.send(signal.SIGCONT)
                if not target.wait(self.spec.stop_timeout, self.reap):
                    target.stop(signal.SIGKILL, 5.0, self._log, self.reap)
            elif not target or target.gone():
                self._log(20, "stop: process is not running")
            elif target.stop(
                self.spec.stop_signal, self.spec.stop_timeout, self._log, self.reap, self.on_sent
            ):
                self._log(20, "process stopped")
        finally:
            self._stopping = False
        self._pgid = None
        if not self.self_daemonizing:
            self._remove_pid_file()

    def restart(self) -> bool:
        """Run the restart command or send ``restart_signal``; False means stop + start."""
        if self.spec.restart is not None:
            self._run_command("restart", self.spec.restart, self.spec.stop_timeout)
            return True
        if self.spec.restart_signal is not None:
            pid = self.current_pid()
            if pid is not None:
                self._send(pid, self.spec.restart_signal)
                return True
        return False

    def signal(self, sig) -> bool:
        """Send ``sig`` to the process itself; False when it is not running."""
        pid = self.current_pid()
        if pid is None:
            return False
        self._send(pid, signal_number(sig))
        return True

    def _send(self, pid: int, sig: int) -> None:
        if Target(pid, None).send(sig):
            self._log(20, "sent %s to pid %d", signal_name(sig), pid)

    def _remove_pid_file(self) -> None:
        remove_pid_file(self.pid_file)

    # -- spawning ------------------------------------------------------------------------
    def _spawn(self, command, stdout=None, owner=None, writers=None) -> subprocess.Popen:
        """Start ``command`` as the spec says; the daemon's Children track it."""
        if self._env is False:  # once per spec: copying the environment costs 0.3 ms
            self._env = launch.environment(self.spec, self.notify_env)
        popen = launch.spawn(self.spec, command, self._env, stdout, writers)
        self._children.add(popen, owner)
        return popen

    def remove_file(self, path: str) -> bool:
        """Delete ``path`` with the watch's rights (see ``launch.remove_file``)."""
        return launch.remove_file(self.spec, path)

    def _run_command(self, action: str, command, timeout: float) -> int | None:
        """Run a start/stop/restart command to completion; its pid is never tracked."""
        self._log(20, "%s: %s", action, command)
        try:
            result = run_command(command, timeout, spawn=self._spawn)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            self._log(40, "%s command failed to run: %s", action, exc)
            return None
        if result.timed_out:
            self._log(30, "%s command still running after %gs; killed it", action, timeout)
        elif result.code:
            self._log(30, "%s command exited with non-zero code = %d", action, result.code)
        return result.code
