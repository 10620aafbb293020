"""uptime: a real process grows older than the limit."""

import pytest
from condition_kit import bound, config_problems, python_child
from conftest import wait_until
from godpy.conditions.uptime import Uptime


def test_fires_once_the_process_is_old_enough(pids):
    """above=0.5 s: false at first, true once the process has run longer."""
    proc = python_child(pids, "print(1, flush=True); import time; time.sleep(60)")
    cond = bound(Uptime, proc.pid, above=0.5)
    assert cond.check() is False
    wait_until(cond.check, timeout=10, interval=0.05)
    assert cond.info.endswith("(over 0.5s)")


def test_durations_and_no_process():
    """'12h' is 43200 s; no process is never true."""
    cond = bound(Uptime, None, above="12h")
    assert cond.above == 43200
    assert cond.check() is False


@pytest.mark.parametrize(
    "attrs, message",
    [("", "'above' is required"), ("above='a while'", "above: bad duration 'a while'")],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake names condition uptime."""
    text = config_problems(
        tmp_path, f'with w.restart_if() as on:\n    on.condition("uptime", {attrs})\n'
    )
    assert "condition uptime" in text and message in text
