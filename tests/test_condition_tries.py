"""tries: counts checks in a state; with transition it retries a start that hangs."""

import time

import pytest
from condition_kit import bound, config_problems
from godpy.conditions.tries import Tries


def test_triggers_on_the_nth_check():
    """times=3: false, false, true; the info counts the tries."""
    cond = bound(Tries, times=3)
    assert [cond.check(), cond.check()] == [False, False]
    assert cond.info == "tries within bounds [2/3]"
    assert cond.check() is True
    assert cond.info == "tries exceeded [3/3]"


def test_reset_counts_again_from_zero():
    """Entering the state again starts a new count."""
    cond = bound(Tries, times=2)
    cond.check()
    cond.reset()
    assert cond.check() is False


def test_within_needs_the_tries_close_together():
    """With within, tries spread wider than the window never trigger."""
    cond = bound(Tries, times=2, within=0.05)
    cond.check()
    time.sleep(0.08)
    assert cond.check() is False
    assert cond.info.startswith("tries within bounds [2/2 within")
    assert bound(Tries, times=2, within=10).check() is False


@pytest.mark.parametrize("times", [0, (1, 2), "3"])
def test_times_must_be_a_plain_count(tmp_path, times):
    """times is a whole number >= 1, not an (x, y) window."""
    text = config_problems(
        tmp_path,
        f'with w.transition("start", "up") as on:\n'
        f'    on.condition("tries", times={times!r}, transition="start")\n',
    )
    assert "condition tries: times must be a whole number >= 1" in text


def test_times_is_required(tmp_path):
    """times has no default."""
    text = config_problems(
        tmp_path, 'with w.transition("start", "up") as on:\n    on.condition("tries")\n'
    )
    assert "condition tries: 'times' is required" in text


FAILSAFE = """
from godpy import God
God.pid_file_directory = {pids!r}
with God.watch() as w:
    w.name = "broken"
    w.start = "/no/such/program --serve"
    w.interval = 0.05
    with w.transition("init", {{True: "up", False: "start"}}) as on:
        on.condition("process_running", running=True)
    with w.transition("start", "up") as on:
        on.condition("process_running", running=True)
        on.condition("tries", times=2, transition="start")
"""


def test_failsafe_retries_a_start_that_never_comes_up(tmp_path, godpy_run):
    """A daemon retries the start every 2 checks; the log counts the tries (God scenario 16)."""
    run = godpy_run(FAILSAFE.format(pids=str(tmp_path / "pids")), "--no-events")
    run.wait_log("broken [trigger] tries exceeded [2/2] (Tries)", count=2)
    run.wait_log("broken move 'start' to 'start'", count=2)
    assert run.terminate() == 0
