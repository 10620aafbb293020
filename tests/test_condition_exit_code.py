"""exit_code: the exit event's raw wait status, decoded; a real daemon on netlink."""

import os
import signal
import subprocess
import sys

import pytest
from condition_kit import bound, config_problems
from conftest import needs_root
from godpy.conditions.exit_code import ExitCode


def raw_status(argv):
    """The raw wait status of a real child, as the netlink exit event carries it."""
    proc = subprocess.Popen(argv)
    _, status = os.waitpid(proc.pid, 0)
    proc.returncode = 0  # reaped by hand
    return proc.pid, status


def test_exit_status_in_codes_is_accepted():
    """A child exiting 78: accepted with codes=78 or [1, 78], not with codes=1."""
    pid, status = raw_status([sys.executable, "-c", "raise SystemExit(78)"])
    payload = {"pid": pid, "status": status}
    cond = bound(ExitCode, codes=[1, 78])
    assert cond.accept(payload) is True
    assert cond.info == f"process {pid} exited with code 78"
    assert bound(ExitCode, codes=78).accept(payload) is True
    assert bound(ExitCode, codes=1).accept(payload) is False


def test_killed_by_a_signal_matches_its_name():
    """A SIGKILLed child matches codes='KILL' or 'SIGKILL', and not exit code 9."""
    proc = subprocess.Popen(["sleep", "30"])
    proc.send_signal(signal.SIGKILL)
    _, status = os.waitpid(proc.pid, 0)
    proc.returncode = -9
    payload = {"pid": proc.pid, "status": status}
    assert bound(ExitCode, codes="KILL").accept(payload) is True
    assert bound(ExitCode, codes=["SIGKILL"]).accept(payload) is True
    assert bound(ExitCode, codes=9).accept(payload) is False


def test_event_without_a_status_is_not_accepted():
    """A payload without a status (process already gone) cannot tell its code."""
    assert bound(ExitCode, codes=0).accept({"pid": None}) is False


@pytest.mark.parametrize(
    "attrs, message",
    [
        ("", "'codes' is required"),
        ("codes=[1, 300]", "codes: 300 is neither an exit status (0-255) nor a signal name"),
        ("codes='SIGNOPE'", "codes: 'SIGNOPE' is neither"),
    ],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake is reported against condition exit_code."""
    text = config_problems(
        tmp_path,
        f'with w.transition("up", "stop") as on:\n    on.condition("exit_code", {attrs})\n',
    )
    assert f"condition exit_code: {message}" in text


def test_needs_events(tmp_path):
    """Without process events the config is refused, as for process_exits."""
    text = config_problems(
        tmp_path,
        'with w.transition("up", "unmonitored") as on:\n    on.condition("exit_code", codes=1)\n',
        events=False,
    )
    assert "condition exit_code needs process events" in text


CONFIG = """
import sys
from godpy import God
God.pid_file_directory = {pids!r}
for name, code in (("misconfigured", 78), ("crashing", 1)):
    with God.watch() as w:
        w.name = name
        w.start = [sys.executable, "-c", f"import time; time.sleep(0.3); exit({{code}})"]
        w.interval = 30  # only the exit events act in time
        with w.transition("up", "unmonitored") as on:
            on.condition("exit_code", codes=78)  # EX_CONFIG: restarting will not help
        w.keepalive()
"""


@needs_root
def test_daemon_unmonitors_on_exit_78_and_restarts_other_exits(tmp_path, godpy_run):
    """Exit 78 leaves the watch unmonitored; exit 1 goes to process_exits and restarts."""
    run = godpy_run(CONFIG.format(pids=str(tmp_path / "pids")))
    run.wait_log("exited with code 78 (ExitCode)")
    run.wait_log("misconfigured move 'up' to 'unmonitored'")
    run.wait_log("exited with code 1 (ProcessExits)", count=2)  # crashing, restarted
    text = run.text()
    assert "crashing move 'up' to 'unmonitored'" not in text
    assert "code 1 (ExitCode)" not in text
    assert text.count("misconfigured start:") == 1
    assert run.terminate() == 0
