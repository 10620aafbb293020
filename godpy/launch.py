"""Launch: how a watched process is started from its spec (user, environment, logs),
and the one other thing done with the watch's rights: deleting its files.

A watch running as another user has its logs opened by the child after the switch, and
its files deleted by ``rm`` run as that user: a service user can never make godpy write or
delete a file that the user could not touch itself.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
from dataclasses import dataclass, field

from godpy.command_runner import argv_for, run_command
from godpy.credentials import Credentials

#: Exit status of the child when it cannot open its log as the watch's user (systemd's).
EXIT_LOG = 209
#: Run as the watch's user: open $1 (stdout) and $2 (stderr, or stdout's), then exec
#: (``command exec``: a failed redirection must not end the shell before ``exit 209``).
_OPEN_AS_USER = (
    'command exec >>"$1" || exit 209; if [ -n "$2" ]; then command exec 2>>"$2" || '
    'exit 209; else exec 2>&1; fi; shift 2; exec "$@"'
)
#: What a watch running as another user inherits from godpy's environment.
_CLEAN_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "TZ")
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


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
    pid_file_grace: float = 3.0
    kill_mode: str = "group"
    credentials: Credentials = field(default_factory=Credentials)
    dir: str | None = None
    env: dict = field(default_factory=dict)
    log: str | None = None
    err_log: str | None = None
    umask: int | None = None
    chroot: str | None = None
    inherit_env: bool = False

    @property
    def switches_user(self) -> bool:
        """True when the process runs as another user than godpy: a privilege boundary."""
        return self.credentials.uid is not None and self.credentials.uid != os.getuid()

    @property
    def uid(self) -> int:
        """The uid the watch's processes run as (godpy's own when ``uid`` is unset)."""
        return os.getuid() if self.credentials.uid is None else self.credentials.uid


def environment(spec: ProcessSpec, notify: dict[str, str] | None = None) -> dict[str, str] | None:
    """godpy's environment; for another user, a clean one that leaks no secret. None
    means godpy's own, unchanged: the child inherits it (copying ``os.environ`` for each
    of 1,000 watches cost 1 ms apiece). ``notify``: an sd_notify watch's NOTIFY_SOCKET
    (and WATCHDOG_USEC), added last: godpy's own were taken out of its environment at
    its start (``sd_notify.Notifier.take``), these are the watch's."""
    extra = spec.credentials.environment()
    if not (spec.switches_user or extra or spec.env or notify):
        return None
    if spec.switches_user and not spec.inherit_env:
        env = {k: os.environ[k] for k in _CLEAN_ENV if k in os.environ}
        env.setdefault("PATH", _DEFAULT_PATH)
    else:
        env = dict(os.environ)
    env.update(extra)
    env.update({k: str(v) for k, v in (spec.env or {}).items()})
    env.update(notify or {})
    return env


def spawn(
    spec: ProcessSpec, command, env: dict[str, str] | None, stdout=None, writers=None
) -> subprocess.Popen:
    """Start ``command`` as the spec says: its own session, its user, its logs.

    ``writers``: the write ends of the watch's output pipes (stdout, stderr), read by the
    output keeper, which writes the logs; without them the logs are opened here.

    Raises:
        OSError, subprocess.SubprocessError, ValueError: it could not be started.
    """
    argv = argv_for(command)
    if writers is not None:
        out, err = writers
    elif spec.switches_user and not spec.chroot and stdout is None and (spec.log or spec.err_log):
        # The service's user may control the log's path: open it as that user, in the
        # child, after the switch (a shell's redirections: no interpreter to start).
        argv = ["/bin/sh", "-c", _OPEN_AS_USER, "sh", spec.log or "/dev/null",
                spec.err_log or "", *argv]  # fmt: skip
        out = err = None
    else:
        out = _open_log(spec.log)
        err = _open_log(spec.err_log) if spec.err_log else None
    kwargs = dict(
        stdin=_devnull(),
        stdout=stdout or out,
        stderr=err if err is not None else subprocess.STDOUT,
        env=env,
        start_new_session=True,
        close_fds=True,
        umask=-1 if spec.umask is None else spec.umask,
    )
    creds = spec.credentials
    if spec.chroot:
        kwargs["preexec_fn"] = creds.chroot_switcher(spec.chroot, spec.dir or "/")
    else:
        kwargs.update(cwd=spec.dir or "/", **creds.popen_kwargs())
    try:
        return subprocess.Popen(argv, **kwargs)
    finally:
        for fh in (out, err) if writers is None else ():
            if fh is not None and not isinstance(fh, int):
                fh.close()


@functools.cache
def _devnull() -> int:
    """One /dev/null for every child's stdin (and output without a log), opened once:
    ``subprocess.DEVNULL`` opens and closes it for each start."""
    return os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)


def _open_log(path: str | None):
    if not path:
        return _devnull()
    # No symlink as the last step: a log is a file, never a link to somewhere else.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    return open(fd, "ab", buffering=0)


def remove_file(spec: ProcessSpec, path: str) -> bool:
    """Delete ``path`` with the watch's rights; False when there was nothing to delete.

    Raises:
        OSError: the file exists and could not be deleted.
    """
    if not os.path.lexists(path):
        return False
    if not spec.switches_user:
        os.unlink(path)
        return True
    result = run_command(
        ["rm", "-f", "--", path],
        10,
        env={"PATH": _DEFAULT_PATH, "LC_ALL": "C"},
        separate_errors=True,
        popen_kwargs=spec.credentials.popen_kwargs(),
    )
    if result.code != 0 or os.path.lexists(path):
        why = result.errors.strip().rsplit(": ", 1)[-1] or "not deleted"
        raise OSError(f"cannot delete {path} as uid {spec.uid}: {why}")
    return True
