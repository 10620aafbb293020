"""Running the daemon: in the foreground (``-D``) or in the background.

In the background godpy double-forks before any thread exists, and the launching
process waits on a pipe until the daemon serves its control socket (exit 0) or reports
why it could not start (the config error reaches the terminal; exit 1).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from dataclasses import dataclass

from godpy.errors import ConfigError


@dataclass
class RunOptions:
    """What ``godpy -c FILE`` was asked to do."""

    config: str
    foreground: bool
    log_path: str | None
    pid_path: str | None
    log_level: str
    events: bool
    socket: str
    insecure_config: bool = False
    socket_group: str | None = None
    state_path: str | None = None
    metrics_address: str | None = None


def run(options: RunOptions) -> int:
    """Run the daemon as asked; return the exit code for the launching shell."""
    if options.foreground:
        return _serve(options, report=None)
    return _launch(options)


def _serve(options: RunOptions, report) -> int:
    """Load, start and serve; ``report(ok, text)`` tells a waiting launcher the outcome."""
    from godpy import log
    from godpy.daemon import Daemon
    from godpy.sd_notify import Notifier

    handler = log.setup(options.log_level, options.log_path)
    if not options.foreground and options.log_path is None:
        log.get_logger().removeHandler(handler)
        handler.close()
        log.get_logger().addHandler(log.Background(_background_log_handler()))
    daemon = Daemon(
        options.config,
        use_events=options.events,
        socket_path=options.socket,
        insecure_config=options.insecure_config,
        socket_group=options.socket_group,
        state_path=options.state_path,
        systemd=Notifier.take(os.environ),  # disabled without NOTIFY_SOCKET
        metrics_address=_metrics_address(options.metrics_address),
    )
    held = HeldLog(log.get_logger())
    try:
        daemon.load()
    except ConfigError as exc:
        # nothing started: the problems come first, and no "godpy stopped" follows
        lines = [f"godpy: {line}" for line in exc.problems]
        lines.append("godpy: config not loaded; nothing was started")
        _tell(report, "\n".join(lines))
        held.release(logging.WARNING)
        return 1
    finally:
        held.release()
    # From the first start on, SIGTERM must stop the watches (it is queued until the main
    # loop runs): with the default action, a SIGTERM while the watches were being started
    # killed godpy and left them running.
    daemon.install_signal_handlers()
    try:
        daemon.start()
    except (RuntimeError, OSError) as exc:
        return _fail(daemon, report, f"godpy: {exc}")
    if options.pid_path is None and not options.foreground:
        options.pid_path = default_pid_path(options.socket)
    if options.pid_path:
        write_private(options.pid_path, str(os.getpid()))
    if report is not None:
        warnings = "".join(f"godpy: warning: {w}\n" for w in daemon.config_warnings)
        report(
            True,
            f"{warnings}godpy started (pid {os.getpid()}), control socket {options.socket}, "
            f"pid file {options.pid_path}",
        )
    try:
        return daemon.run()
    finally:
        if options.pid_path:
            try:
                os.unlink(options.pid_path)
            except FileNotFoundError:
                pass


def _metrics_address(text: str | None):
    """``--metrics HOST:PORT`` as a metrics.Address (checked by the CLI already)."""
    if text is None:
        return None
    from godpy.metrics import parse_address

    return parse_address(text)


def default_pid_path(socket_path: str) -> str:
    """``<pid directory>/godpy.pid`` for the default socket; a daemon on another socket
    gets its own name (``godpy-<hash of the socket path>.pid``), so two never share one."""
    import hashlib

    from godpy.rpc import default_socket_path
    from godpy.session import default_pid_directory

    directory = default_pid_directory()
    os.makedirs(directory, exist_ok=True)
    if os.path.abspath(socket_path) == os.path.abspath(default_socket_path()):
        return os.path.join(directory, "godpy.pid")
    tag = hashlib.sha1(os.path.abspath(socket_path).encode()).hexdigest()[:10]
    return os.path.join(directory, f"godpy-{tag}.pid")


def write_private(path: str, text: str) -> None:
    """Write the daemon's own file ``path`` atomically, mode 0600 whatever the umask
    (mkstemp creates it so; a reader never sees a partial file)."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".godpy-", dir=os.path.dirname(path) or ".")
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _fail(daemon, report, text: str) -> int:
    daemon.terminate()
    _tell(report, text)
    return 1


def _say(text: str, err: bool = False) -> None:
    """One line for the launching terminal (click stays in the CLI module)."""
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


def _tell(report, text: str) -> None:
    """Show why godpy did not start: on stderr, or through a waiting launcher."""
    if report is None:
        from godpy import log

        log.drain()  # the log lines queued so far come first (they may go to stderr too)
        _say(text, err=True)
    else:
        report(False, text)


class HeldLog:
    """Holds back what ``logger`` logs while the config loads, so that the config's
    problems are the first lines the user reads; ``release`` then passes the held
    records (at least ``level``) on to the logger's handlers.

    Args:
        logger: godpy's logger, its handlers already installed.
    """

    def __init__(self, logger: logging.Logger):
        self._logger = logger
        self._handlers = list(logger.handlers)
        self._held = logging.handlers.BufferingHandler(capacity=10_000)
        for handler in self._handlers:
            logger.removeHandler(handler)
        logger.addHandler(self._held)

    def release(self, level: int = logging.NOTSET) -> None:
        """Give the logger its handlers back and replay the held records (once)."""
        if self._held is None:
            return
        self._logger.removeHandler(self._held)
        for handler in self._handlers:
            self._logger.addHandler(handler)
        for record in self._held.buffer:
            if record.levelno >= level:
                self._logger.handle(record)
        self._held = None


def _background_log_handler():
    """Syslog for root; ``~/.godpy/godpy.log`` (0600, in a 0700 folder when it creates
    it) for anyone else, or without /dev/log."""
    from godpy import log

    handler = log.syslog_handler() if os.geteuid() == 0 else None
    if handler is None:
        path = os.path.expanduser("~/.godpy/godpy.log")
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        handler = log.PrivateFileHandler(path)
    handler.setFormatter(log.GodFormatter())
    return handler


def _launch(options: RunOptions) -> int:
    """Double-fork a daemon and wait for it to report; return the launcher's exit code."""
    read_end, write_end = os.pipe()
    first = os.fork()
    if first:
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read().decode(errors="replace")
        os.waitpid(first, 0)
        if message.startswith("ok "):
            *warnings, started = message[3:].split("\n")
            for line in warnings:
                _say(line, err=True)
            _say(started)
            return 0
        _say(
            message[4:]
            if message.startswith("err ")
            else "godpy: the daemon exited before it was ready (see its log)",
            err=True,
        )
        return 1
    os.close(read_end)
    os.setsid()
    if os.fork():
        os._exit(0)
    _detach()
    out = os.fdopen(write_end, "wb")

    def report(ok: bool, text: str) -> None:
        out.write(f"{'ok' if ok else 'err'} {text}".encode())
        out.close()

    code = 1
    try:
        code = _serve(options, report)
    finally:
        if not out.closed:
            out.close()
        from godpy import log

        log.drain()  # what the writer thread still holds (a config error, say)
        os._exit(code)


def _detach() -> None:
    os.chdir("/")
    # the default umask of watched programs; the daemon's own files (log, pid file) are
    # created 0600 explicitly, whatever the umask
    os.umask(0o022)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the daemon's life)
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115
