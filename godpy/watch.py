"""Watch: a Task that keeps one process in the desired state."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future

from godpy.backoff import Backoff
from godpy.condition import normalize_notify
from godpy.credentials import Credentials
from godpy.metric import Metric
from godpy.process import Children, Process, ProcessSpec, signal_number
from godpy.task import UNMONITORED, Task, duration
from godpy.trust import trust_problem
from godpy.units import to_kilobytes, to_percent, to_seconds

STATES = ("init", "up", "start", "restart", "stop", "failed")
#: A process that has run this long (or stable_after, if shorter) came up: a start or
#: restart command reports success then.
CONFIRM = 0.5
KILL_MODES = ("group", "process")
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
        pid_file_grace: seconds to wait for ``pid_file`` to name a live process, after
            the start command and while what is left of an old process group lives on
            (a USR2 upgrade); default 3.
        kill_mode: "group" (default): stopping, or the main process's death, also stops
            what is left of its process group; "process": only the main pid is signalled.
        unix_socket: the Unix socket file the process listens on (for the
            ``clean_unix_socket`` behavior).
        uid, gid: user and group to run as (names or numbers).
        dir: working directory (default "/").
        env: variables added to the environment: godpy's own, or for a watch whose
            ``uid`` differs from godpy's, a clean one (PATH, LANG, TZ and the user's
            HOME, USER, LOGNAME, SHELL).
        inherit_env: give a watch running as another user godpy's whole environment
            (default False: its secrets stay godpy's).
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
    pid_file_grace: float | str = 3
    kill_mode: str = "group"
    unix_socket: str | None = None
    uid: str | int | None = None
    gid: str | int | None = None
    dir: str | None = None
    env: dict[str, str] | None = None
    inherit_env: bool = False
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
                "pid_file_grace",
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
        self._backoff: Backoff | None = None
        self._deferred = None  # the timer of a start waiting out its backoff
        self._next_start_at: float | None = None
        self._landing: str | None = None
        self._failure: str | None = None
        self._notify_failed = None
        self._waiters: list[tuple[Future, int]] = []  # (outcome, deaths when asked)
        self._deaths = 0  # moves back to start: the process died or did not come up
        self._death: str | None = None  # why, the last time
        self._stopped = False  # the operator stopped it: it stays stopped
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
        self,
        interval=None,
        memory_max=None,
        cpu_max=None,
        memory_times=(3, 5),
        cpu_times=(3, 5),
        restart_delay="100ms",
        restart_delay_max="30s",
        stable_after="10s",
        start_retries=None,
        notify=None,
    ) -> None:
        """Keep the process running, and restart it when it stays over its limits.

        A process that is not running is started again in every monitored state. One
        that ran at least ``stable_after`` is restarted at once; quick deaths in a row
        wait ``restart_delay``, doubling up to ``restart_delay_max``.

        Args:
            interval: seconds between checks (default: the watch's interval, else 5).
            memory_max: restart when RSS stays above this (kilobytes or "150MB").
            cpu_max: restart when CPU stays above this (percent or "50%").
            memory_times: (x, y) readings over ``memory_max`` that restart it.
            cpu_times: (x, y) readings over ``cpu_max`` that restart it.
            restart_delay: wait before the first restart after a quick death.
            restart_delay_max: the cap of the doubling wait.
            stable_after: a run this long is good: the next crash restarts at once.
            start_retries: after this many quick deaths in a row, give up: state
                ``failed`` (default None: keep trying for ever, with the capped wait).
            notify: contact or group name(s) told when the watch fails.
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
            backoff = Backoff(
                to_seconds(restart_delay),
                to_seconds(restart_delay_max),
                to_seconds(stable_after),
                start_retries,
            )
            if notify is not None:
                normalize_notify(notify)
        except ValueError as exc:
            raise AttributeProblem(f"{self.describe()}: keepalive: {exc}") from None
        if opts["interval"] is not None and opts["interval"] <= 0:
            raise AttributeProblem(f"{self.describe()}: keepalive: interval must be positive")
        if start_retries is not None and (
            not isinstance(start_retries, int)
            or isinstance(start_retries, bool)
            or start_retries < 1
        ):
            raise AttributeProblem(
                f"{self.describe()}: keepalive: start_retries must be a whole number >= 1 "
                "or None (retry for ever)"
            )
        for name in ("restart_delay", "restart_delay_max", "stable_after"):
            if getattr(backoff, name) < 0:
                raise AttributeProblem(f"{self.describe()}: keepalive: {name} must be >= 0")
        self._keepalive = opts
        self._backoff = backoff
        self._notify_failed = notify

    def build(self, pid_file_directory: str, children: Children) -> None:
        """Finish the watch when its block closes: keepalive's metrics, and the process.

        Keepalive uses process-exit events when they work (decided before the config
        ran), else polling.
        """
        if self._keepalive is not None:
            self._install_keepalive(self._events_enabled, **self._keepalive)
        self._process = Process(self._spec(pid_file_directory), self.applog, children)
        self._pid_dir = pid_file_directory

    def _install_keepalive(self, events, interval, memory_max, cpu_max, memory_times, cpu_times):
        every = interval or self.interval or 5.0
        # Every monitored state reacts to a process that is not running: a start that did
        # not come up goes back to start (with the backoff), never waits for ever. A state
        # whose way to up the config declares itself (a readiness check) keeps it.
        ready = [s for s in ("start", "restart") if self._metrics.get(s)]
        plain = ["init", *(s for s in ("start", "restart") if s not in ready)]
        with self.transition(plain, {True: "up", False: "start"}) as on:
            on.condition("process_running", running=True, interval=every)
        if ready:
            with self.transition(ready, "start") as on:
                on.condition("process_running", running=False, interval=every)
        with self.start_if() as on:
            if events:
                on.condition("process_exits")
            # With events, a safety net: an exit event can be lost (overflow, pid change).
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
            pid_file_grace=self.pid_file_grace,
            kill_mode=self.kill_mode,
            pid_file_directory=pid_file_directory,
            credentials=Credentials.resolve(self.uid, self.gid),
            dir=self.dir,
            env=dict(self.env or {}),
            inherit_env=bool(self.inherit_env),
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
        problems += self._pid_folder_problems() + self._log_folder_problems()
        if self.kill_mode not in KILL_MODES:
            problems.append(
                f"{where}: kill_mode must be one of {', '.join(map(repr, KILL_MODES))}, "
                f"got {self.kill_mode!r}"
            )
        if self.env is not None and not isinstance(self.env, dict):
            problems.append(f"{where}: env must be a dict of names to values")
        if self.chroot is not None and not os.path.isdir(self.chroot):
            problems.append(f"{where}: chroot {self.chroot!r} is not a directory")
        return problems

    def _log_folder_problems(self) -> list[str]:
        """godpy opens the logs of a watch that runs as godpy's user itself: a folder on
        the way that another user could swap would let that user pick the file."""
        if self._process is None or self._process.spec.switches_user or self.chroot:
            return []
        problems = []
        for attr in ("log", "err_log"):
            path = getattr(self, attr)
            folder = os.path.dirname(os.path.abspath(path)) if path else None
            if not folder or not os.path.isdir(folder):
                continue
            try:
                problem = trust_problem(folder, self._process.spec.uid, folder=True)
            except OSError as exc:
                problem = f"cannot examine it: {exc.strerror or exc}"
            if problem:
                problems.append(
                    f"{self.describe()}: {attr} folder {folder} is not safe: {problem}; or set "
                    "w.uid to the user who owns it (the log is then opened as that user)"
                )
        return problems

    def _pid_folder_problems(self) -> list[str]:
        """A pid file's folder that another user could write lets that user name any
        process as ours: refuse it (a sticky /tmp included)."""
        if self._process is None:
            return []
        if self.pid_file:
            folder, what = os.path.dirname(os.path.abspath(self.pid_file)), "pid_file folder"
        else:
            folder, what = self._pid_dir, "pid_file_directory"
        if not os.path.isdir(folder):
            return [f"{self.describe()}: {what} {folder!r} does not exist"] if self.pid_file else []
        try:
            problem = trust_problem(folder, self._process.spec.uid, folder=True)
        except OSError as exc:
            problem = f"cannot examine it: {exc.strerror or exc}"
        if problem is None:
            return []
        return [f"{self.describe()}: {what} {folder} is not safe: {problem}"]

    # -- state machine -------------------------------------------------------------------
    def attach_runtime(self, driver, events=None, notifier=None, on_change=None) -> None:
        """Task wiring, plus: our child's exit (SIGCHLD) reaches the driver as a message."""
        super().attach_runtime(driver, events, notifier, on_change)
        if self._process is not None:
            self._process.on_exit = self._child_exited

    def detach_runtime(self) -> None:
        """The driver is going away: the daemon reaps our children from now on."""
        if self._process is not None:
            self._process.on_exit = None

    def _child_exited(self) -> bool:
        """Main thread, on SIGCHLD: ask the driver to reap; False when it is gone."""
        future = self._driver.message("reap_child")
        return not (future.done() and future.exception() is not None)

    def reap_child(self) -> None:
        """Collect our child's exit status; without exit events, re-check at once."""
        self._process.reap()
        if self._events is None and self._state != UNMONITORED:
            self.poll_now()

    def landing_state(self, to_state: str) -> str:
        """God's simple mode: a start or restart state without metrics lands in ``up``.

        A start that gave up (``start_retries``) lands in ``failed``.
        """
        if self._landing is not None:
            landed, self._landing = self._landing, None
            return landed
        if to_state in ("start", "restart") and not self._metrics.get(to_state):
            return "up"
        return to_state

    def monitor(self) -> None:
        """Enter ``init`` when it has conditions, else ``up``."""
        if self._state == UNMONITORED:
            self.move("init" if self._metrics.get("init") else "up")

    def move(self, to_state: str) -> None:
        """Leave the current state (a start waiting out its backoff is cancelled)."""
        self._cancel_deferred()
        if to_state not in ("failed", "start"):
            self._failure = None
        if to_state == "start" and self._state in ("start", "restart", "up"):
            self._deaths += 1
            self._process.reap()
            self._death = self._process.exit_reason() or "process is not running"
        super().move(to_state)
        self._settle_waiters()

    def action(self, name: str) -> None:
        """Run the start, stop or restart action, with hooks and grace periods."""
        if name == "start":
            self._start()
        elif name == "stop":
            self._act("stop", self._process.stop, self.stop_grace)
        elif name == "restart":
            self._restart()

    def action_pending(self) -> bool:
        """True while a start waits out its backoff (its conditions wait with it)."""
        return self._deferred is not None

    def _start(self) -> None:
        """Start unless the process runs after all; under keepalive, with the backoff."""
        if self._process.settle():
            self.applog(logging.INFO, "process %s is running; not starting another", self.pid)
            return
        delay = 0.0 if self._backoff is None else self._backoff.next_delay(self._process.lived())
        if delay is None:
            self._give_up()
        elif delay > 0:
            self._next_start_at = self._driver.clock() + delay
            self._deferred = self._driver.message_at(delay, "call", self._deferred_start)
            self.applog(
                logging.INFO,
                "%s; starting again in %s",
                self._process.exit_reason() or "process is not running",
                duration(delay),
            )
        else:
            self._act("start", self._process.start, self.start_grace)

    def _deferred_start(self) -> None:
        if self._deferred is None or self._state != "start":
            return
        self._deferred = self._next_start_at = None
        self._action = "starting"
        try:
            if not self._process.settle():
                self._act("start", self._process.start, self.start_grace)
        finally:
            self._action = None
        self.enable_state()
        self._settle_waiters()
        self.changed()

    def _cancel_deferred(self) -> None:
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = self._next_start_at = None

    def _give_up(self) -> None:
        tries = self._backoff.quick_deaths
        last = self._process.exit_reason() or "process is not running"
        self._failure = f"gave up after {tries} quick death(s) in a row: {last}"
        self._landing = "failed"
        self.applog(
            logging.ERROR, "failed: %s; 'godpy start %s' tries again", self._failure, self.name
        )
        if self._notify_failed is not None:
            names, priority, category = normalize_notify(self._notify_failed)
            message = f"{self.name} failed: {self._failure}"
            self.send_notification(names, message, priority, category, self._backoff)

    def _act(self, name: str, func, grace: float) -> None:
        self.run_hooks("before", name)
        if name == "start" and not self._process.self_daemonizing:
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
    def control(self, command: str):
        """Carry out a CLI-style command; return its outcome, or a Future of it.

        Every command first cancels the watch's timers (a flapping retry, a backoff
        start): the operator's intent wins. ``start``/``monitor``: monitor unless already
        up (a ``failed`` watch is re-armed); ``stop``: unmonitor and stop the process;
        ``restart``: move to restart; ``unmonitor``: stop watching only. For start,
        monitor and restart the Future resolves, on this driver, once the process is up
        (and has run ``CONFIRM`` seconds) or has clearly failed.
        """
        self.cancel_timers()
        self._stopped = command == "stop"
        if command in ("start", "monitor", "restart") and self._backoff is not None:
            self._backoff.rearm()
        if command in ("start", "monitor"):
            if self._state != "up":
                if self._state != UNMONITORED:
                    self.move(UNMONITORED)
                self.monitor()
        elif command == "stop":
            self.unmonitor()
            self._action = "stopping"
            try:
                self.action("stop")
            finally:
                self._action = None
            pid = self._process.pid
            self.changed()
            return self.outcome(pid is None, None if pid is None else f"pid {pid} still runs")
        elif command == "restart":
            self.move("restart")
        elif command == "unmonitor":
            self.unmonitor()
            self.changed()
            return self.outcome(True)
        else:
            raise ValueError(f"unknown command {command!r}")
        waiter: Future = Future()
        self._waiters.append((waiter, self._deaths))
        self._settle_waiters()
        return waiter

    def _settle_waiters(self) -> None:
        """Resolve the commands waiting for this watch to come up or fail (driver only)."""
        if not self._waiters:
            return
        waiting = []
        for waiter, deaths in self._waiters:
            if waiter.cancelled():
                continue
            verdict = self._verdict(deaths)
            if verdict is None:
                waiting.append((waiter, deaths))
            elif not waiter.done():
                waiter.set_result(self.outcome(*verdict))
        self._waiters = waiting

    def _verdict(self, deaths: int) -> tuple[bool, str | None] | None:
        """(ok, reason) once clear, else None: up for CONFIRM seconds, or failed."""
        reason = self._process.exit_reason() or "process is not running"
        if self._state == "up" and self._action is None:
            if self._process.pid is None:
                return None if self._keepalive is not None else (False, reason)
            lived = self._process.lived()
            wait = min(CONFIRM, self._backoff.stable_after if self._backoff else CONFIRM)
            if lived is not None and lived < wait:
                self._driver.message_at(wait - lived, "call", self._settle_waiters)
                return None
            return True, None
        if self._state == "failed":
            return False, self._failure
        if self._state == UNMONITORED:
            return False, self.cause() or "unmonitored"
        if self._deferred is not None:
            return False, f"{reason}; next start in {duration(self._next_start_in())}"
        if self._deaths > deaths:
            return False, self._death
        return None

    def _next_start_in(self) -> float:
        at = self._next_start_at
        return 0.0 if at is None else max(0.0, at - self._driver.clock())

    # -- the state file -------------------------------------------------------------------
    def intent(self) -> str:
        """``monitored``, ``unmonitored``, ``stopped`` (by the operator) or ``failed``."""
        if self._halted is not None:
            return self._halted
        if self._state == "failed":
            return "failed"
        return "stopped" if self._stopped else super().intent()

    def persist(self) -> dict:
        """The task's record plus the process (pid, start time, counters, last exit), the
        quick deaths in a row and why it failed (driver thread)."""
        record = super().persist()
        record.update(self._process.export())
        record["quick_deaths"] = self._backoff.quick_deaths if self._backoff else 0
        record["failure"] = self._failure
        return record

    def restore(self, saved: dict) -> None:
        """Re-adopt the process an earlier godpy ran, if it still runs (identity-checked),
        and carry its counters and history on (before the driver starts)."""
        super().restore(saved)
        alive = self._process.restore(saved)
        if not alive and saved.get("pid") and saved.get("intent") == "monitored":
            self._process.last_exit = "exited while godpy was down"
        if self._backoff is not None:
            self._backoff.quick_deaths = int(saved.get("quick_deaths") or 0)
        self._stopped = saved.get("intent") == "stopped"

    def resume(self) -> None:
        """A failed watch stays failed, a stopped one stopped; the rest as Task's."""
        saved = self._restored or {}
        if saved.get("intent") == "failed":
            self._restored = None
            self._state, self._failure = "failed", saved.get("failure")
            self.changed()
            return
        super().resume()

    def take_intent(self, old: Watch) -> None:
        """Replacing ``old`` on reload: an operator's stop still holds (main loop, while
        neither driver runs a command)."""
        self._stopped = old._stopped

    def halt(self) -> None:
        """The daemon shuts down: stop monitoring and stop the process, keeping intent."""
        super().halt()
        self._action = "stopping"
        try:
            self.action("stop")
        finally:
            self._action = None
        self.changed()

    def remove_file(self, path: str) -> bool:
        """Delete ``path`` with the rights of the watch's user (for behaviors); False when
        there was nothing to delete.

        Raises:
            OSError: it exists and could not be deleted.
        """
        return self._process.remove_file(path)

    def send_signal(self, sig) -> int | None:
        """Send ``sig`` to the watched process; return its pid, or None if not running."""
        pid = self._process.pid
        if pid is None or not self._process.signal(sig):
            return None
        self.applog(logging.INFO, "sent signal %s to pid %d", sig, pid)
        return pid

    def snapshot(self) -> dict:
        """Plain data for status: name, group, state, pid, uptime, restarts, reason, and
        ``next_start_in`` (seconds until a start waiting out its backoff, else None)."""
        data = super().snapshot()
        proc = self._process
        pid, uptime = proc.observe() if proc else (None, None)
        cause = data.get("reason")
        if self._cause and self._cause[0] in _EXIT_CAUSES:  # the exit status says it all
            cause = None
        if self._stopped and self._state == UNMONITORED:
            cause = f"stopped by the operator ('godpy start {self.name}' starts it)"
        reasons = [self._failure or cause, None if self._failure else proc.exit_reason()]
        data.update(
            pid=pid,
            uptime=uptime,
            restarts=proc.restarts if proc else 0,
            reason=None if pid else "; ".join(dict.fromkeys(r for r in reasons if r)) or None,
        )
        if self._next_start_at is not None and self._driver is not None:
            data["next_start_in"] = round(self._next_start_in(), 3)
        if data["state"] == "up" and pid is None and data["action"] is None:
            data["state"] = "down"  # status never shows up without a live process
        return data
