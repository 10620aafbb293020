"""WatchConfig: the declared side of a watch (its attributes, keepalive, and the checks
run when its block closes); ``Watch`` adds the running side."""

from __future__ import annotations

import os

from godpy import keepalive
from godpy.condition import PollCondition
from godpy.configurable import problem
from godpy.credentials import Credentials
from godpy.metric import Metric
from godpy.process import Children, Process, ProcessSpec, signal_number
from godpy.readiness import READY_IF
from godpy.task_config import TaskConfig
from godpy.trust import unsafe_folder

KILL_MODES = ("group", "process")


class WatchConfig:
    """What a config declares for a watch (a mixin of ``Watch``).

    States: ``unmonitored``, ``init``, ``up``, ``start``, ``restart``, ``stop``.

    Attributes:
        start: command that starts the process; exec'd directly, or through /bin/sh when
            it uses shell syntax (required).
        stop: command that stops it (default: ``stop_signal`` to its process group).
        restart: command that restarts it (default: stop, then start).
        restart_signal: signal that makes the process restart itself (e.g. "HUP").
        stop_signal: signal of the default stop (default "TERM").
        stop_timeout: seconds before SIGKILL follows the stop (default 10).
        start_timeout: seconds a self-daemonizing start command may take, and the
            program may take to be ready for its dependents (default 30).
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
        log, err_log: files that stdout and stderr are appended to (default: none;
            stderr goes with stdout when ``err_log`` is not set). The last 256 KB of
            each stream are kept for ``godpy tail`` either way.
        log_max_size: rotate a log when it would grow past this ("50MB"; default: never).
        log_backups: rotated logs kept: ``NAME.log.1`` ... (default 5; 0 truncates).
        log_cmd, err_log_cmd: shell commands whose stdin receives stdout / stderr
            (``"logger -t app"``); run as the watch's user, started again if they die.
        umask, chroot: as the names say.
        grace, start_grace, stop_grace, restart_grace: seconds to wait after an action.
        autostart: monitor the watch when the daemon starts (default True).
        interval: default poll interval in seconds for the watch's conditions.
        depends_on: watch or group names (one, or a list) that must be ready before this
            watch starts; stopping one of them stops this watch first.
        restart_with_dependencies: restart this watch when a dependency is restarted
            after a crash too (default False: only an operator's restart does).
        sd_notify: the program says when it is ready (``READY=1`` to ``NOTIFY_SOCKET``,
            systemd's protocol); until then its dependents wait (default False).
        watchdog: with ``sd_notify``: restart a program that has said ``READY=1`` and then
            no ``WATCHDOG=1`` for this long ("30s"; its environment gets WATCHDOG_USEC).

    A dependency that is not ready ``start_timeout`` seconds after its start fails its
    dependents' start (they go on waiting for it).
    """

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
    log_max_size: float | str | None = None
    log_backups: int = 5
    log_cmd: str | None = None
    err_log_cmd: str | None = None
    umask: int | None = None
    chroot: str | None = None
    grace: float | str = 0
    start_grace: float | str = 0
    stop_grace: float | str = 0
    restart_grace: float | str = 0
    depends_on: str | list[str] | None = None
    restart_with_dependencies: bool = False
    sd_notify: bool = False
    watchdog: float | str | None = None
    required = ("name", "start")
    units = {
        **TaskConfig.units,
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
                "watchdog",
            )
        },
        "log_max_size": "kilobytes",
    }

    def start_if(self) -> Metric:
        """Conditions that move ``up`` to ``start``."""
        return self.transition("up", "start")

    def restart_if(self) -> Metric:
        """Conditions that move ``up`` to ``restart``."""
        return self.transition("up", "restart")

    def stop_if(self) -> Metric:
        """Conditions that move ``up`` to ``stop``."""
        return self.transition("up", "stop")

    def ready_if(self) -> Metric:
        """Conditions that make an up watch ready: each must hold once after each start
        (polled only until then)."""
        metric = Metric(self, None)
        self._metrics.setdefault(READY_IF, []).append(metric)
        return metric

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
            self._keepalive = keepalive.declare(
                interval, memory_max, cpu_max, memory_times, cpu_times, restart_delay,
                restart_delay_max, stable_after, start_retries, notify,
            )  # fmt: skip
        except ValueError as exc:
            raise AttributeProblem(f"{self.describe()}: keepalive: {exc}") from None
        self._backoff = self._keepalive.backoff
        self._notify_failed = notify

    def build(self, pid_file_directory: str, children: Children) -> None:
        """Finish the watch when its block closes: keepalive's metrics, and the process.

        Keepalive uses process-exit events when they work (decided before the config
        ran), else polling.
        """
        if self._keepalive is not None:
            keepalive.install(self, self._keepalive, self._events_enabled)
        self._process = Process(self._spec(pid_file_directory), self.applog, children)
        self._pid_dir = pid_file_directory

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
        problems += self._output_problems()
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
        problems += self._readiness_problems()
        if not isinstance(self.restart_with_dependencies, bool):
            text = f"{where}: restart_with_dependencies must be True or False, got "
            line = self.line_of("restart_with_dependencies")
            problems.append(problem(f"{text}{self.restart_with_dependencies!r}", line))
        return problems

    def _readiness_problems(self) -> list[str]:
        where, problems = self.describe(), []
        if not isinstance(self.sd_notify, bool):
            text = f"{where}: sd_notify must be True or False, got {self.sd_notify!r}"
            problems.append(problem(text, self.line_of("sd_notify")))
        if self.watchdog is not None:
            if not isinstance(self.watchdog, (int, float)) or self.watchdog <= 0:
                text = f"{where}: watchdog must be a duration such as '30s', got {self.watchdog!r}"
                problems.append(problem(text, self.line_of("watchdog")))
            elif self.sd_notify is not True:
                text = (
                    f"{where}: watchdog needs w.sd_notify = True (the program pings with "
                    "WATCHDOG=1 on NOTIFY_SOCKET)"
                )
                problems.append(problem(text, self.line_of("watchdog")))
        for metric in self._metrics.get(READY_IF, ()):
            if not (metric.conditions or metric.incomplete):
                problems.append(problem(f"{where}: ready_if() has no condition", metric._where))
            for cond in metric.conditions:
                if not isinstance(cond, PollCondition):
                    text = (
                        f"{where}: ready_if takes polled conditions (port_listening, "
                        f"http_response_code, file_touched, ...), not {cond.describe()}"
                    )
                    problems.append(problem(text, cond._where))
        return problems

    def _output_problems(self) -> list[str]:
        where, problems = self.describe(), []
        backups = self.log_backups
        if isinstance(backups, bool) or not isinstance(backups, int) or not 0 <= backups <= 1000:
            problems.append(f"{where}: log_backups must be a whole number from 0 to 1000")
        if self.log_max_size is not None and self.log_max_size * 1024 < 1:
            problems.append(f"{where}: log_max_size must be at least 1 byte, e.g. '50MB'")
        for attr in ("log_cmd", "err_log_cmd"):
            value = getattr(self, attr)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                problems.append(f"{where}: {attr} must be a shell command string")
        return problems

    def output_settings(self) -> dict:
        """Where the output keeper sends this watch's output (plain data)."""
        spec = self._process.spec
        creds = spec.credentials
        user = None
        if spec.switches_user and not spec.chroot:  # its files are opened as the user
            user = [spec.uid, creds.gid if creds.gid is not None else spec.uid,
                    list(creds.groups or [])]  # fmt: skip
        size = self.log_max_size
        return {
            "log": os.path.abspath(self.log) if self.log else None,
            "err_log": os.path.abspath(self.err_log) if self.err_log else None,
            "log_cmd": self.log_cmd,
            "err_log_cmd": self.err_log_cmd,
            "max_size": None if size is None else max(1, int(size * 1024)),
            "backups": self.log_backups,
            "user": user,
        }

    def _log_folder_problems(self) -> list[str]:
        """godpy opens the logs of a watch that runs as godpy's user itself: a folder on
        the way that another user could swap would let that user pick the file."""
        if self._process is None or self._process.spec.switches_user or self.chroot:
            return []
        problems = []
        for attr in ("log", "err_log"):
            path = getattr(self, attr)
            folder = os.path.dirname(os.path.abspath(path)) if path else None
            problem = folder and os.path.isdir(folder) and unsafe_folder(folder, self.uid_)
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
        problem = unsafe_folder(folder, self.uid_)
        return [f"{self.describe()}: {what} {folder} is not safe: {problem}"] if problem else []

    @property
    def uid_(self) -> int:
        """The uid the watch's processes run as (godpy's when ``uid`` is unset)."""
        return self._process.spec.uid

    # -- state machine -------------------------------------------------------------------
