"""Secrets stay secret, through a real daemon: webhook tokens never reach the log or the
CLI, a bad environment value is never printed, the daemon's own files are 0600."""

import logging
import logging.handlers  # noqa: F401 (loaded before a child switches user)
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import traceback
from pathlib import Path

import pytest
from cli_helpers import cli
from conftest import GODPY, alive, needs_root, read_pid, wait_until
from contact_servers import HttpSink

from godpy.runner import _background_log_handler

pytestmark = pytest.mark.system

HEAD = "from godpy import God, env\nGod.pid_file_directory = {pids!r}\n"
SECRETS = ("T0001", "B0002", "s3cr3tT0k3n", "k3y")


def test_webhook_and_slack_failures_log_no_token(tmp_path, godpy_run):
    """A failing webhook or Slack contact is logged (and shown by notify-test) with
    ``http://host/services/…``: no path token, no query."""
    with HttpSink(statuses=[503, 503]) as sink:
        port = sink.server.server_address[1]
        url = f"http://127.0.0.1:{port}/services/T0001/B0002/s3cr3tT0k3n?key=k3y"
        contacts = "".join(
            f'with God.contact("{kind}") as c:\n    c.name = "{kind}-ops"\n    c.url = {url!r}\n'
            for kind in ("webhook", "slack")
        )
        run = godpy_run(HEAD.format(pids=str(tmp_path / "pids")) + contacts, "--no-events")
        run.wait_log("godpy started")
        shown = [
            cli("notify-test", name, socket=run.socket) for name in ("webhook-ops", "slack-ops")
        ]
        run.wait_log("notification to 'slack-ops' failed")
        assert run.terminate() == 0
    assert len(sink.requests) == 2, "both contacts really posted to the secret URL"
    redacted = f"http://127.0.0.1:{port}/services/… answered HTTP 503"
    log = run.text()
    for name in ("webhook-ops", "slack-ops"):
        assert f"notification to '{name}' failed (attempt 1 of 1): DeliveryError: {redacted}" in log
    for result in shown:
        assert result.returncode == 1 and redacted in result.stdout
    for secret in SECRETS:
        assert secret not in log and all(secret not in r.stdout + r.stderr for r in shown)


def test_env_cast_error_names_the_variable_not_its_value(tmp_path):
    """`env("DB_PORT", cast=int)` on a non-number: file:line, the variable, no value."""
    config = tmp_path / "app.god.py"
    config.write_text(
        HEAD.format(pids=str(tmp_path / "pids")) + 'port = env("DB_PORT", cast=int)\n'
    )
    out = subprocess.run(
        [GODPY, "-c", str(config), "-D", "--no-events"],
        capture_output=True,
        text=True,
        env={**os.environ, "DB_PORT": "hunter2-secret"},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert out.returncode == 1
    assert (
        f"godpy: {config}:3: environment variable DB_PORT is not a valid int (value not shown); "
        "fix DB_PORT in the daemon's environment\n"
    ) in out.stderr
    assert "hunter2" not in out.stderr + out.stdout


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_background_daemon_log_and_pid_file_are_0600_under_umask_022(tmp_path, pids):
    """`godpy -c -l LOG -P PID` (background, umask 022): both files are created 0600."""
    config = tmp_path / "app.god.py"
    config.write_text(HEAD.format(pids=str(tmp_path / "pids")))
    log, pid_file, sock = tmp_path / "godpy.log", tmp_path / "godpy.pid", tmp_path / "s.sock"
    argv = [GODPY, "-c", config, "-l", log, "-P", pid_file, "--socket", sock, "--no-events"]
    out = subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        umask=0o022,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    pid = read_pid(pid_file)
    pids.add(pid)
    assert (_mode(log), _mode(pid_file)) == (0o600, 0o600)
    assert cli("terminate", socket=sock).returncode == 0
    wait_until(lambda: not alive(pid), 30, what=f"daemon {pid} gone")


def _as_user(user, func):
    """Run ``func()`` in a forked child switched to ``user``; wait (bounded) for its exit
    code. (The interpreter under /root cannot be exec'ed by another user here.)"""
    child = os.fork()
    if child == 0:  # pragma: no cover (child)
        code = 1
        try:
            os.setgroups([])
            os.setgid(user.gid)
            os.setuid(user.uid)
            func()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    status = []

    def exited():
        pid, code = os.waitpid(child, os.WNOHANG)
        if pid == child:
            status.append(os.waitstatus_to_exitcode(code))
        return status

    try:
        return wait_until(exited, 30, what="the child's exit")[0]
    finally:
        if not status:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)


@needs_root
def test_default_log_of_a_user_daemon_is_0600_in_a_0700_folder(throwaway_user):
    """A non-root background daemon's default ~/.godpy/godpy.log: 0600, its folder 0700,
    under umask 022."""
    home = tempfile.mkdtemp(prefix="godpy-secrets-")
    os.chown(home, throwaway_user.uid, throwaway_user.gid)

    def log_a_line():
        os.environ["HOME"] = home
        os.umask(0o022)
        handler = _background_log_handler()
        handler.emit(logging.LogRecord("godpy", logging.INFO, __file__, 1, "hello", (), None))
        handler.close()

    try:
        assert _as_user(throwaway_user, log_a_line) == 0
        logfile = Path(home, ".godpy", "godpy.log")
        assert "hello" in logfile.read_text()
        assert (_mode(logfile.parent), _mode(logfile)) == (0o700, 0o600)
        assert os.stat(logfile).st_uid == throwaway_user.uid
    finally:
        shutil.rmtree(home, ignore_errors=True)
