"""run_command: a command before or after an action, bounded by its timeout."""

import time

import pytest
from behavior_helpers import make_watch
from conftest import alive, wait_until


@pytest.mark.integration
def test_after_start_sees_the_watch_and_its_pid(tmp_path, pids, godlog):
    """After start the command runs with GODPY_WATCH, GODPY_ACTION and the new pid."""
    out = tmp_path / "out"
    command = f'echo "$GODPY_WATCH $GODPY_ACTION $GODPY_PID" > {out}'
    w = make_watch(
        tmp_path, pids, "sleep 30", [("run_command", {"command": command, "action": "start"})]
    )
    w.action("start")
    assert out.read_text().split() == ["app", "start", str(w.pid)]
    assert f"app after_start: ran {command!r} (RunCommand)" in godlog.text
    w.action("stop")


@pytest.mark.integration
def test_before_stop_runs_while_the_process_still_lives(tmp_path, pids):
    """before_stop: the process is alive when the command runs (an argv list here)."""
    out = tmp_path / "out"
    script = f'kill -0 "$GODPY_PID" && echo alive > {out}'
    beh = {"command": ["sh", "-c", script], "action": "stop", "when": "before"}
    w = make_watch(tmp_path, pids, "sleep 30", [("run_command", beh)])
    w.action("start")
    pid = w.pid
    w.action("stop")
    assert out.read_text() == "alive\n"
    assert not alive(pid)


@pytest.mark.integration
def test_failure_is_logged_with_its_last_line_and_the_action_goes_on(tmp_path, pids, godlog):
    """A non-zero exit is one error line; it vetoes nothing."""
    beh = {"command": "echo first; echo boom; exit 3", "action": "start", "when": "before"}
    w = make_watch(tmp_path, pids, "sleep 30", [("run_command", beh)])
    w.action("start")
    assert w.pid is not None
    assert (
        "app before_start failed in behavior run_command: 'echo first; echo boom; exit 3' "
        "exited with code 3: boom" in godlog.text
    )
    w.action("stop")


@pytest.mark.integration
def test_timeout_kills_the_command_and_its_children(tmp_path, pids, godlog):
    """A hung command is killed after `timeout`, with everything it started."""
    child = tmp_path / "child"
    command = f"sleep 60 & echo $! > {child}; wait"
    beh = {"command": command, "action": "start", "timeout": 0.5}
    w = make_watch(tmp_path, pids, "sleep 30", [("run_command", beh)])
    begun = time.monotonic()
    w.action("start")
    assert time.monotonic() - begun < 20  # not stuck (the command sleeps 60 s)
    grandchild = pids.add(int(child.read_text()))
    wait_until(lambda: not alive(grandchild), 5, what="the command's child to be killed")
    assert f"{command!r} still running after 0.5s; killed" in godlog.text
    w.action("stop")


def test_other_moments_do_not_run_it(tmp_path, pids):
    """Only the chosen when/action has a hook."""
    beh = {"command": "true", "action": "restart", "when": "before"}
    w = make_watch(tmp_path, pids, "true", [("run_command", beh)])
    (b,) = w.behaviors
    assert b.hook("before", "restart") == b.run
    assert b.hook("after", "restart") is None and b.hook("before", "start") is None


def test_invalid_configuration_messages(tmp_path, pids):
    """A misspelt action, a bad `when`, a missing command, a bad timeout."""
    beh = {"action": "strat", "when": "during", "timeout": 0}
    w = make_watch(tmp_path, pids, "true", [("run_command", beh)])
    assert w.valid() == [
        "watch 'app': behavior run_command: 'command' is required",
        "watch 'app': behavior run_command: when must be 'before' or 'after', not 'during'",
        "watch 'app': behavior run_command: unknown action 'strat'; did you mean 'start'? "
        "(actions: start, stop, restart)",
        "watch 'app': behavior run_command: timeout must be positive",
    ]
