"""flapping: too many state changes unmonitor the watch; retry_in monitors it again.

Unit tests drive a generic task on a fake clock; the system test makes a real daemon
crash-loop a command (God 0.13.7 never unmonitors it: reference section 7.3).
"""

import json
import subprocess
import time

import pytest
from condition_kit import config_problems
from conftest import GODPY
from godpy.conditions.flapping import Flapping

from godpy.driver import Driver
from godpy.task import Task


def flappy(clock, **attrs):
    """A task a <-> b with a lifecycle flapping guard on entering b; monitored, in a."""
    task = Task(name="t", valid_states=["a", "b"], initial_state="a", interval=1)
    settings = dict(to_state="b", times=3, within=10, transition="unmonitored")
    settings.update(attrs)
    with task.lifecycle() as on:
        cond = on.condition(Flapping, **settings)
    task.prepare()
    assert task.valid() == []
    driver = Driver(task, clock=clock)
    task.attach_runtime(driver)
    send(driver, "monitor")
    return task, driver, cond


def send(driver, name, *args):
    driver.message(name, *args)
    driver.run_pending()


def flap(driver, clock, n, every=1.0):
    """Move a -> b -> a ``n`` times, ``every`` seconds apart."""
    for _ in range(n):
        clock.advance(every)
        send(driver, "move", "b")
        if driver.task.state == "b":
            send(driver, "move", "a")


def test_times_within_unmonitors(clock, godlog):
    """Three entries into b within 10 s move the task to unmonitored."""
    task, driver, _ = flappy(clock)
    flap(driver, clock, 2)
    assert task.state == "a"
    flap(driver, clock, 1)
    assert task.state == "unmonitored"
    assert "[trigger] process is flapping (3 changes within 10s) (Flapping)" in godlog.text


def test_changes_spread_wider_than_within_do_not_trigger(clock):
    """Three entries 6 s apart never fit in 10 s."""
    task, driver, _ = flappy(clock)
    flap(driver, clock, 6, every=6)
    assert task.state == "a"


def test_from_state_filter(clock):
    """from_state counts changes out of the named state only."""
    task, driver, _ = flappy(clock, to_state=None, from_state="b")
    flap(driver, clock, 3)
    assert task.state == "unmonitored"


def test_retry_in_monitors_again_then_gives_up(clock, godlog):
    """After retry_in the task is monitored again; the second flap (retry_times 2) gives up."""
    task, driver, _ = flappy(clock, retry_in=30, retry_times=2, retry_within=600)
    flap(driver, clock, 3)
    assert task.state == "unmonitored"
    assert "auto-reenable monitoring in 30 seconds" in godlog.text
    clock.advance(29)
    driver.run_pending()
    assert task.state == "unmonitored"
    clock.advance(1)
    driver.run_pending()
    assert task.state == "a"
    assert "t auto-reenabling monitoring" in godlog.text
    flap(driver, clock, 3)
    assert task.state == "unmonitored"
    assert "giving up after 2 flaps" in godlog.text
    clock.advance(3600)
    driver.run_pending()
    assert task.state == "unmonitored"


def test_flaps_outside_retry_within_keep_retrying(clock):
    """Flaps further apart than retry_within do not add up to giving up."""
    task, driver, _ = flappy(clock, retry_in=30, retry_times=2, retry_within=60)
    for _ in range(3):
        flap(driver, clock, 3)
        assert task.state == "unmonitored"
        clock.advance(100)
        driver.run_pending()
        assert task.state == "a"


def test_operator_monitor_cancels_the_pending_retry(clock):
    """Monitored again by hand, then unmonitored by hand: the old timer does nothing."""
    task, driver, _ = flappy(clock, retry_in=30, retry_times=5)
    flap(driver, clock, 3)
    send(driver, "monitor")
    send(driver, "unmonitor")
    clock.advance(31)
    driver.run_pending()
    assert task.state == "unmonitored"


def test_trigger_survives_the_move_that_follows_it(clock):
    """The flapping trigger is served before the new state's due polls (God's #193)."""
    task = Task(name="t", valid_states=["a", "b"], initial_state="a", interval=1)
    with task.transition("b", "a") as on:
        on.condition("always", what=True)  # b moves on at once, like a start that works
    with task.lifecycle() as on:
        on.condition(Flapping, to_state="b", times=2, within=10, transition="unmonitored")
    task.prepare()
    driver = Driver(task, clock=clock)
    task.attach_runtime(driver)
    send(driver, "monitor")
    send(driver, "move", "b")
    assert task.state == "a"
    send(driver, "move", "b")
    assert task.state == "unmonitored"


@pytest.mark.parametrize(
    "attrs, message",
    [
        ("times=3", "condition flapping: 'within' is required"),
        ("within=10", "condition flapping: set 'to_state', 'from_state' or both"),
        ("within=10, to_state='strat'", "to_state: unknown state 'strat'"),
        ("within=10, to_state='start', times=0", "times must be a whole number >= 1"),
        ("within=10, to_state='start', retry_in=5", "retry_in needs transition='unmonitored'"),
    ],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake gives its own message."""
    text = config_problems(
        tmp_path, f'with w.lifecycle() as on:\n    on.condition("flapping", {attrs})\n'
    )
    assert message in text


def status(run):
    """The watch's state as ``godpy status`` prints it."""
    argv = [GODPY, "status", "crashy", "--json", "--socket", run.socket]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return json.loads(out.stdout)


CRASH_LOOP = """
import sys
from godpy import God
God.pid_file_directory = {pids!r}
with God.watch() as w:
    w.name = "crashy"
    w.start = [sys.executable, "-c", "raise SystemExit(1)"]
    w.interval = 0.05
    with w.transition("init", {{True: "up", False: "start"}}) as on:
        on.condition("process_running", running=True)
    with w.transition("start", "up") as on:
        on.condition("process_running", running=True)
        on.condition("tries", times=3, transition="start")
    with w.start_if() as on:
        on.condition("process_running", running=False)
    with w.lifecycle() as on:
        on.condition("flapping", to_state=["start", "restart"], times=3, within=30,
                     transition="unmonitored", retry_in=0.5, retry_times=2, retry_within=60)
"""


def test_crash_loop_is_unmonitored_retried_then_given_up(tmp_path, godpy_run):
    """A command that dies at once: unmonitored, monitored again after retry_in, gives up."""
    run = godpy_run(CRASH_LOOP.format(pids=str(tmp_path / "pids")), "--no-events")
    run.wait_log("crashy [trigger] process is flapping", timeout=20)
    run.wait_log("auto-reenable monitoring in 0.5 seconds")
    run.wait_log("crashy auto-reenabling monitoring", timeout=10)
    run.wait_log("giving up after 2 flaps", timeout=20)
    text = run.text()
    assert text.count("to 'unmonitored'") >= 2  # one line per move, twice
    starts = text.count("crashy start:")
    time.sleep(1.0)  # longer than retry_in: no more starts after giving up
    assert run.text().count("crashy start:") == starts
    assert "unmonitored" in str(status(run))
    assert run.terminate() == 0
