"""Process control: spawn, pid files, signals, stop escalation and reaping.

A watched process that does not daemonize itself is started in its own session and stays
godpy's child, so godpy reaps it and knows its exact exit status. A process is identified
by its pid *and* its start time, so a recycled pid is never mistaken for it.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from godpy.credentials import Credentials
from godpy.pids import (
    describe_status,
    group_has_live_members,
    identity,
    read_pid_file,
    write_pid_file,
)

_SHELL_CHARS = set("|&;<>()$`*?[]#~{}!\n")
_ASSIGNMENT = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*=")
#: psutil's start times come from a boot time rounded to the second.
_START_TIME_SLACK = 1.0
_POLL = 0.005


def argv_for(command) -> list[str]:
    """Return the argv to exec: the shell only when the command uses shell syntax."""
    if isinstance(command, (list, tuple)):
        return [str(part) for part in command]
    if any(ch in _SHELL_CHARS for ch in command) or _ASSIGNMENT.match(command):
        return ["/bin/sh", "-c", command]
    return shlex.split(command)


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


class Children:
    """Every child godpy spawned and has not reaped yet; ``reap()`` collects the dead.

    The daemon calls ``reap()`` on SIGCHLD, so no zombie lingers even for a watch that is
    no longer monitored.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._popens: set[subprocess.Popen] = set()

    def add(self, popen: subprocess.Popen) -> None:
        """Track a new child."""
        with self._lock:
            self._popens.add(popen)

    def reap(self) -> int:
        """Reap every finished child; return how many are still running."""
        with self._lock:
            done = {p for p in self._popens if p.poll() is not None}
            self._popens -= done
            return len(self._popens)


@dataclass
class ProcessSpec:
    """How to run, stop and identify one watched process."""

    name: str
    start: object
    pid_file_directory: str
    stop: object = None
    restart: object = None
    restart_signal: int | None = None
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 10.0
    start_timeout: float = 30.0
    pid_file: str | None = None
    credentials: Credentials = field(default_factory=Credentials)
    dir: str | None = None
    env: dict = field(default_factory=dict)
    log: str | None = None
    err_log: str | None = None
    umask: int | None = None
    chroot: str | None = None


class Process:
    """One watched process: start, stop, restart, signal, and who it is now.

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
        self._tracked: tuple[int, float] | None = None
        self._started_at: float | None = None
        self.last_exit: str | None = None
        self.restarts = 0  # starts after the first, for whatever reason
        self._starts = 0
        self._stopping = False

    def inherit(self, old: Process) -> None:
        """Take over the child and history of the process this one replaces (``load``)."""
        self._popen, self._tracked = old._popen, old._tracked
        self._starts = old._starts
        self._started_at, self.last_exit, self.restarts = (
            old._started_at,
            old.last_exit,
            old.restarts,
        )

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
        """The pid of the live watched process, or None."""
        if self._popen is not None:
            if self._popen.poll() is None:
                return self._popen.pid
            self._record_exit(self._popen.returncode)
        if self._tracked and not self.self_daemonizing:
            if identity(self._tracked[0]) == self._tracked[1]:
                return self._tracked[0]
            self._tracked = None
        if self.self_daemonizing or self._tracked is None:
            self._tracked = self._adopt()
        return self._tracked[0] if self._tracked else None

    def _adopt(self) -> tuple[int, float] | None:
        found = read_pid_file(self.pid_file)
        if found is None:
            return None
        pid, mtime = found
        started = identity(pid)
        if started is None or started > mtime + _START_TIME_SLACK:
            return None
        return pid, started

    def alive(self) -> bool:
        """True when the watched process is running."""
        return self.pid is not None

    def reap(self) -> str | None:
        """Collect our child's exit status if it died; return the reason text."""
        if self._popen is not None and self._popen.poll() is not None:
            self._record_exit(self._popen.returncode)
        return self.last_exit

    def _record_exit(self, returncode: int) -> None:
        self.last_exit = describe_status(returncode)
        lived = time.monotonic() - (self._started_at or time.monotonic())
        if returncode == 0 and lived < 1.0 and not (self.self_daemonizing or self._stopping):
            self._log(
                30,
                "process exited with code 0 %.2fs after start; if the start command "
                "daemonizes itself, set pid_file to the file it writes",
                lived,
            )
        self._popen = None
        self._tracked = None

    def observe(self) -> tuple[int | None, float | None]:
        """(pid, uptime) for status, from any thread: it only reads, and reaps nothing."""
        tracked = self._tracked
        if tracked and identity(tracked[0]) == tracked[1]:
            return tracked[0], time.time() - tracked[1]
        return None, None

    def uptime(self) -> float | None:
        """Seconds since the tracked process started, or None."""
        return None if self.pid is None or not self._tracked else time.time() - self._tracked[1]

    # -- actions -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the process (or run a self-daemonizing start command and wait for it)."""
        self.last_exit = None
        self._starts += 1
        self.restarts += self._starts > 1
        if self.self_daemonizing:
            code = self._run_command("start", self.spec.start, self.spec.start_timeout)
            if code != 0:
                self.last_exit = (
                    "start command failed"
                    if code is None
                    else (f"start command exited with code {code}")
                )
            self._tracked = None
            return
        try:
            popen = self._spawn(self.spec.start)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:  # unbalanced quotes
            self.last_exit = f"failed to start: {exc}"
            self._log(40, "start failed: %s", exc)
            return
        self._popen = popen
        self._started_at = time.monotonic()
        self._tracked = (popen.pid, identity(popen.pid) or time.time())
        try:
            write_pid_file(self.pid_file, popen.pid)
        except OSError as exc:
            self._log(30, "could not write pid file %s: %s", self.pid_file, exc)

    def stop(self) -> None:
        """Stop the process: stop command or ``stop_signal`` to its group, then SIGKILL."""
        pid = self.pid
        self._stopping = True
        try:
            if self.spec.stop is not None:
                self._run_command("stop", self.spec.stop, self.spec.stop_timeout)
            elif pid is None:
                self._log(20, "stop: process is not running")
            else:
                self._send(pid, self.spec.stop_signal)
            if pid is not None:
                self._ensure_stopped(pid)
        finally:
            self._stopping = False
        if not self.self_daemonizing:
            self._remove_pid_file()

    def restart(self) -> bool:
        """Run the restart command or send ``restart_signal``; False means stop + start."""
        if self.spec.restart is not None:
            self._run_command("restart", self.spec.restart, self.spec.stop_timeout)
            return True
        if self.spec.restart_signal is not None:
            pid = self.pid
            if pid is not None:
                self._send(pid, self.spec.restart_signal, group=False)
                return True
        return False

    def signal(self, sig) -> bool:
        """Send ``sig`` to the process itself; False when it is not running."""
        pid = self.pid
        if pid is None:
            return False
        self._send(pid, signal_number(sig), group=False)
        return True

    def _send(self, pid: int, sig: int, group: bool = True) -> None:
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        try:
            if group and os.getpgid(pid) == pid:
                os.killpg(pid, sig)
                self._log(20, "sent %s to process group %d", name, pid)
            else:
                os.kill(pid, sig)
                self._log(20, "sent %s to pid %d", name, pid)
        except ProcessLookupError:
            pass

    def _ensure_stopped(self, pid: int) -> None:
        leader = self._is_group_leader(pid)
        if self._wait_gone(pid, leader, self.spec.stop_timeout):
            self._log(20, "process stopped")
            return
        try:
            if leader:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log(30, "still alive after %gs; sent SIGKILL", self.spec.stop_timeout)
        self._wait_gone(pid, leader, 5.0)

    def _is_group_leader(self, pid: int) -> bool:
        try:
            return os.getpgid(pid) == pid
        except ProcessLookupError:
            return self._popen is not None and self._popen.pid == pid

    def _wait_gone(self, pid: int, group: bool, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            self.reap()
            if self._gone(pid, group):
                self.reap()  # our child may have become a zombie since the first reap
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)

    def _gone(self, pid: int, group: bool) -> bool:
        try:
            if not group:
                return identity(pid) is None
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        # Zombies still count for killpg; one we do not own may wait a while for its reaper.
        return not group_has_live_members(pid)

    def _remove_pid_file(self) -> None:
        try:
            os.unlink(self.pid_file)
        except FileNotFoundError:
            pass

    # -- spawning ------------------------------------------------------------------------
    def _spawn(self, command, stdout=None) -> subprocess.Popen:
        spec = self.spec
        out = self._open_log(spec.log)
        err = self._open_log(spec.err_log) if spec.err_log else None
        creds = spec.credentials
        env = {**os.environ, **creds.environment()}
        env.update({k: str(v) for k, v in (spec.env or {}).items()})
        kwargs = dict(
            stdin=subprocess.DEVNULL,
            stdout=stdout or out,
            stderr=err if err is not None else subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
            umask=-1 if spec.umask is None else spec.umask,
        )
        if spec.chroot:
            kwargs["preexec_fn"] = creds.chroot_switcher(spec.chroot, spec.dir or "/")
        else:
            kwargs.update(cwd=spec.dir or "/", **creds.popen_kwargs())
        try:
            popen = subprocess.Popen(argv_for(command), **kwargs)
        finally:
            for fh in (out, err):
                if fh is not None and fh is not subprocess.DEVNULL:
                    fh.close()
        self._children.add(popen)
        return popen

    @staticmethod
    def _open_log(path: str | None):
        if not path:
            return subprocess.DEVNULL
        return open(path, "ab", buffering=0)

    def _run_command(self, action: str, command, timeout: float) -> int | None:
        """Run a start/stop/restart command to completion; its pid is never tracked."""
        self._log(20, "%s: %s", action, command)
        try:
            popen = self._spawn(command)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            self._log(40, "%s command failed to run: %s", action, exc)
            return None
        try:
            code = popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._log(30, "%s command still running after %gs; killed it", action, timeout)
            try:
                os.killpg(popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            popen.wait()
            return None
        if code:
            self._log(30, "%s command exited with non-zero code = %d", action, code)
        return code
