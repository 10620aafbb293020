"""Watch: a Task that keeps one process in the desired state."""

from __future__ import annotations

import logging
import os
import time

from godpy.credentials import Credentials
from godpy.metric import Metric
from godpy.process import Children, Process, ProcessSpec, signal_number
from godpy.task import UNMONITORED, Task
from godpy.units import to_kilobytes, to_percent, to_seconds

STATES = ("init", "up", "start", "restart", "stop")
_SIGNAL_ATTRS = ("stop_signal", "restart_signal")
_EXIT_CAUSES = ("process_exits", "process_running", "exit_code")


class Watch(Task):
    """A process under supervision.

    States: ``unmonitored``, ``init``, ``up``, ``start``, ``restart``, ``stop``.

    Attributes:
        start: command that starts the process; exec'd directly, or through /bin/sh when
            it uses shell syntax (required).
        stop: command that stops it (default: ``stop_signal`` to its process group).
        restart: command that restarts it (default: stop, then start).
        restart_signal: signal that makes the process restart itself (e.g. "HUP").
        stop_signal: signal of the default stop (default "TERM").
        stop_timeout: seconds before SIGKILL follows the stop (default 10).
        start_timeout: seconds a self-daemonizing start command may take (default 30).
        pid_file: the file a self-daemonizing start command writes; setting it says that
            the command daemonizes itself (default: godpy keeps the process as its child
            and writes ``<pid_file_directory>/<name>.pid``).
        unix_socket: the Unix socket file the process listens on (for the
            ``clean_unix_socket`` behavior).
        uid, gid: user and group to run as (names or numbers).
        dir: working directory (default "/").
        env: variables merged onto godpy's own environment.
        log, err_log: files that stdout and stderr are appended to (default /dev/null;
            stderr goes with stdout when ``err_log`` is not set).
        umask, chroot: as the names say.
        grace, start_grace, stop_grace, restart_grace: seconds to wait after an action.
        autostart: monitor the watch when the daemon starts (default True).
        interval: default poll interval in seconds for the watch's conditions.
    """

    kind = "watch"
    valid_states = STATES
    initial_state = "init"
    start: str | list[str] | None = None
    stop: str | list[str] | None = None
    restart: str | list[str] | None = None
    restart_signal: str | int | None = None
    stop_signal: str | int = "TERM"
    stop_timeout: float | str = 10
    start_timeout: float | str = 30
    pid_file: str | None = None
    unix_socket: str | None = None
    uid: str | int | None = None
    gid: str | int | None = None
    dir: str | None = None
    env: dict[str, str] | None = None
    log: str | None = None
    err_log: str | None = None
    umask: int | None = None
    chroot: str | None = None
    grace: float | str = 0
    start_grace: float | str = 0
    stop_grace: float | str = 0
    restart_grace: float | str = 0
    required = ("name", "start")
    units = {
        **Task.units,
        **{
            k: "seconds"
            for k in (
                "stop_timeout",
                "start_timeout",
                "grace",
                "start_grace",
                "stop_grace",
                "restart_grace",
            )
        },
    }

    def __init__(self, plugins=None, **attrs):
        self._process: Process | None = None
        self._keepalive: dict | None = None
        self._sleep = time.sleep
        super().__init__(plugins, **attrs)

    def __setattr__(self, name, value):
        if name in _SIGNAL_ATTRS and value is not None:
            try:
                signal_number(value)
            except ValueError as exc:
                from godpy.errors import AttributeProblem

                raise AttributeProblem(f"{self.describe()}: {name}: {exc}") from None
        super().__setattr__(name, value)

    @property
    def process(self) -> Process | None:
        """The watched process (built when the config block closes)."""
        return self._process

    @property
    def pid(self) -> int | None:
        """Pid of the watched process, or None."""
        return self._process.pid if self._process else None

    # -- helpers that install metrics ----------------------------------------------------
    def start_if(self) -> Metric:
        """Conditions that move ``up`` to ``start``."""
        return self.transition("up", "start")

    def restart_if(self) -> Metric:
        """Conditions that move ``up`` to ``restart``."""
        return self.transition("up", "restart")

    def stop_if(self) -> Metric:
        """Conditions that move ``up`` to ``stop``."""
        return self.transition("up", "stop")

    def keepalive(
        self, interval=None, memory_max=None, cpu_max=None, memory_times=(3, 5), cpu_times=(3, 5)
    ) -> None:
        """Keep the process running, and restart it when it stays over its limits.

        Args:
            interval: seconds between checks (default: the watch's interval, else 5).
            memory_max: restart when RSS stays above this (kilobytes or "150MB").
            cpu_max: restart when CPU stays above this (percent or "50%").
            memory_times: (x, y) readings over ``memory_max`` that restart it.
            cpu_times: (x, y) readings over ``cpu_max`` that restart it.
        """
        from godpy.errors import AttributeProblem

        try:
            opts = {
                "interval": None if interval is None else to_seconds(interval),
                "memory_max": None if memory_max is None else to_kilobytes(memory_max),
                "cpu_max": None if cpu_max is None else to_percent(cpu_max),
                "memory_times": memory_times,
                "cpu_times": cpu_times,
            }
        except ValueError as exc:
            raise AttributeProblem(f"{self.describe()}: keepalive: {exc}") from None
        if opts["interval"] is not None and opts["interval"] <= 0:
            raise AttributeProblem(f"{self.describe()}: keepalive: interval must be positive")
        self._keepalive = opts

    def build(self, pid_file_directory: str, children: Children) -> None:
        """Finish the watch when its block closes: keepalive's metrics, and the process.

        Keepalive uses process-exit events when they work (decided before the config
        ran), else polling.
        """
        if self._keepalive is not None:
            self._install_keepalive(self._events_enabled, **self._keepalive)
        self._process = Process(self._spec(pid_file_directory), self.applog, children)

    def _install_keepalive(self, events, interval, memory_max, cpu_max, memory_times, cpu_times):
        every = interval or self.interval or 5.0
        if events:
            with self.transition("init", {True: "up", False: "start"}) as on:
                on.condition("process_running", running=True, interval=every)
            with self.transition(["start", "restart"], "up") as on:
                on.condition("process_running", running=True, interval=every)
            with self.transition("up", "start") as on:
                on.condition("process_exits")
                # A safety net: an exit event can be lost (socket overflow, pid change).
                on.condition("process_running", running=False, interval=every)
        else:
            with self.start_if() as on:
                on.condition("process_running", running=False, interval=every)
        if memory_max is not None or cpu_max is not None:
            with self.restart_if() as on:
                if memory_max is not None:
                    on.condition(
                        "memory_usage", above=memory_max, times=memory_times, interval=every
                    )
                if cpu_max is not None:
                    on.condition("cpu_usage", above=cpu_max, times=cpu_times, interval=every)

    def _spec(self, pid_file_directory: str) -> ProcessSpec:
        return ProcessSpec(
            name=self.name,
            start=self.start,
            stop=self.stop,
            restart=self.restart,
            restart_signal=None
            if self.restart_signal is None
            else signal_number(self.restart_signal),
            stop_signal=signal_number(self.stop_signal),
            stop_timeout=self.stop_timeout,
            start_timeout=self.start_timeout,
            pid_file=self.pid_file,
            pid_file_directory=pid_file_directory,
            credentials=Credentials.resolve(self.uid, self.gid),
            dir=self.dir,
            env=dict(self.env or {}),
            log=self.log,
            err_log=self.err_log,
            umask=self.umask,
            chroot=self.chroot,
        )

    def valid(self) -> list[str]:
        """Task checks plus the process's: user, group, directories, commands."""
        problems = super().valid()
        if "stop" in self._metrics:
            problems.append(f"{self.describe()}: 'stop' cannot be a transition source")
        where = self.describe()
        try:
            Credentials.resolve(self.uid, self.gid)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
        if self.dir is not None and not os.path.isdir(self.dir):
            problems.append(f"{where}: dir {self.dir!r} is not a directory")
        for attr in ("log", "err_log"):
            path = getattr(self, attr)
            if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
                problems.append(
                    f"{where}: {attr} directory {os.path.dirname(path)!r} does not exist"
                )
        for attr in ("start", "stop", "restart"):
            value = getattr(self, attr)
            if value is not None and not isinstance(value, (str, list, tuple)):
                problems.append(f"{where}: {attr} must be a command string or an argv list")
            elif isinstance(value, str) and not value.strip():
                problems.append(f"{where}: {attr} is empty")
        if self.env is not None and not isinstance(self.env, dict):
            problems.append(f"{where}: env must be a dict of names to values")
        if self.chroot is not None and not os.path.isdir(self.chroot):
            problems.append(f"{where}: chroot {self.chroot!r} is not a directory")
        return problems

    # -- state machine -------------------------------------------------------------------
    def landing_state(self, to_state: str) -> str:
        """God's simple mode: a start or restart state without metrics lands in ``up``."""
        if to_state in ("start", "restart") and not self._metrics.get(to_state):
            return "up"
        return to_state

    def monitor(self) -> None:
        """Enter ``init`` when it has conditions, else ``up``."""
        if self._state == UNMONITORED:
            self.move("init" if self._metrics.get("init") else "up")

    def action(self, name: str) -> None:
        """Run the start, stop or restart action, with hooks and grace periods."""
        if name == "start":
            self._act("start", self._process.start, self.start_grace)
        elif name == "stop":
            self._act("stop", self._process.stop, self.stop_grace)
        elif name == "restart":
            self._restart()

    def _act(self, name: str, func, grace: float) -> None:
        self.run_hooks("before", name)
        if name == "start":
            self.applog(logging.INFO, "start: %s", self.start)
        func()
        self.run_hooks("after", name)
        if grace + self.grace > 0:
            self._sleep(grace + self.grace)

    def _restart(self) -> None:
        self.run_hooks("before", "restart")
        if self._process.restart():
            self._process.restarts += 1
        else:
            self._act("stop", self._process.stop, self.stop_grace)
            self._act("start", self._process.start, self.start_grace)
        self.run_hooks("after", "restart")
        if self.restart_grace + self.grace > 0:
            self._sleep(self.restart_grace + self.grace)

    # -- operations sent as messages -----------------------------------------------------
    def control(self, command: str) -> str:
        """Carry out a CLI-style command; returns the state afterwards.

        ``start``/``monitor``: monitor unless already up; ``stop``: unmonitor and stop the
        process; ``restart``: move to restart; ``unmonitor``: stop watching only.
        """
        if command in ("start", "monitor"):
            if self._state != "up":
                if self._state != UNMONITORED:
                    self.move(UNMONITORED)
                self.monitor()
        elif command == "stop":
            self.unmonitor()
            self.action("stop")
        elif command == "restart":
            self.move("restart")
        elif command == "unmonitor":
            self.unmonitor()
        else:
            raise ValueError(f"unknown command {command!r}")
        return self._state

    def send_signal(self, sig) -> int | None:
        """Send ``sig`` to the watched process; return its pid, or None if not running."""
        pid = self._process.pid
        if pid is None or not self._process.signal(sig):
            return None
        self.applog(logging.INFO, "sent signal %s to pid %d", sig, pid)
        return pid

    def snapshot(self) -> dict:
        """Plain data for status: name, group, state, pid, uptime, restarts, reason."""
        data = super().snapshot()
        proc = self._process
        pid, uptime = proc.observe() if proc else (None, None)
        cause = data.get("reason")
        if cause in _EXIT_CAUSES:  # the exit status below already says it
            cause = None
        reasons = [cause, proc.last_exit if proc else None]
        data.update(
            pid=pid,
            uptime=uptime,
            restarts=proc.restarts if proc else 0,
            reason=None if pid else "; ".join(r for r in reasons if r) or None,
        )
        return data
