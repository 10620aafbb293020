"""Helpers for the CLI system tests: run the real ``godpy`` command, write probe configs,
and find (and finally kill) every probe a test's daemon started."""

import os
import signal
import subprocess
import sys

from conftest import GODPY, PROBE, alive, read_lines, read_pid, wait_until

HEAD = """import sys
from godpy import God
God.pid_file_directory = {pids!r}
"""


#: A generic task that moves to ``done`` once the file ``{path}`` holds over 10 bytes.
FILE_TASK = """with God.task() as t:
    t.name = "tidy"
    t.valid_states = ["watching", "done"]
    t.initial_state = "watching"
    t.interval = 30
    with t.transition("watching", "done") as on:
        on.condition("file_size", path={path!r}, above=10)
"""


def cli(*args, socket=None, env=None, timeout=60.0):
    """Run ``godpy ARGS`` with GODPY_SOCKET=socket; return the CompletedProcess (text)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("GODPY_SOCKET", "NO_COLOR")}
    if socket is not None:
        full_env["GODPY_SOCKET"] = str(socket)
    full_env.update(env or {})
    return subprocess.run(
        [GODPY, *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def cli_popen(*args, socket, stdout, stderr):
    """Start ``godpy ARGS`` in the background with SIGINT at its default (as in a shell)."""
    env = {k: v for k, v in os.environ.items() if k != "GODPY_SOCKET"}
    env["GODPY_SOCKET"] = str(socket)
    return subprocess.Popen(
        [GODPY, *map(str, args)],
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        env=env,
        # a test runner started in the background inherits SIGINT ignored; a user's
        # terminal does not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def watch(tmp_path, name, group=None, args=(), lines=(), keepalive="interval=30"):
    """Config text of one probe watch recording to ``<tmp_path>/<name>.rec``."""
    argv = [sys.executable, PROBE, str(tmp_path / f"{name}.rec"), *args]
    text = ["with God.watch() as w:", f"    w.name = {name!r}", f"    w.start = {argv!r}"]
    if group:
        text.append(f"    w.group = {group!r}")
    text += [f"    {line}" for line in lines]
    if keepalive is not None:
        text.append(f"    w.keepalive({keepalive})")
    return "\n".join(text) + "\n"


def crasher(tmp_path, name="crasher", code=3):
    """A watch whose probe exits with ``code`` after 0.2 s and that then stays unmonitored."""
    return watch(
        tmp_path,
        name,
        args=("--exit", str(code), "--after", "0.2"),
        lines=(
            "w.interval = 30",
            'w.transition("init", "start")',
            'with w.transition("up", "unmonitored") as on:',
            '    on.condition("process_exits")',
        ),
        keepalive=None,
    )


def config(tmp_path, *blocks):
    """A whole config: the header (pid files under tmp_path/pids), then ``blocks``."""
    return HEAD.format(pids=str(tmp_path / "pids")) + "".join(blocks)


def pid_of(tmp_path, name):
    """The pid in watch ``name``'s pid file, or None."""
    return read_pid(tmp_path / "pids" / f"{name}.pid")


def live_pid(tmp_path, name, timeout=10.0):
    """Wait until watch ``name``'s probe runs and has recorded its start; return its pid."""

    def ready():
        pid = pid_of(tmp_path, name)
        return pid if pid and alive(pid) and f"start {pid}" in started(tmp_path, name) else None

    return wait_until(ready, timeout, what=f"a live probe of {name}")


def started(tmp_path, name):
    """The ``start <pid>`` lines of watch ``name``'s probe record."""
    return [x for x in read_lines(tmp_path / f"{name}.rec") if x.startswith("start ")]


def kill_probes(tmp_path):
    """SIGKILL every probe whose command line names a file under ``tmp_path`` (teardown).

    Found through /proc rather than the record files: a probe the daemon started just
    before the test ended may not have written its ``start`` line yet.
    """
    needles = (PROBE.encode(), str(tmp_path).encode() + b"/")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
            if all(needle in cmdline for needle in needles):
                os.kill(int(entry), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError):
            pass


def start_daemon(godpy_run, text, *args):
    """Start ``godpy -c -D`` on ``text`` and wait until its watches have been started."""
    run = godpy_run(text, *args)
    run.wait_log("godpy started with")
    return run


def all_up(socket, *names):
    """True when ``godpy status`` reports every watch up (exit 0)."""
    result = cli("status", *names, socket=socket)
    return result.returncode == 0 and result


def wait_all_up(socket, timeout=15.0):
    """Wait until every watch is up; return the status output."""
    return wait_until(lambda: all_up(socket), timeout, what="every watch up").stdout
