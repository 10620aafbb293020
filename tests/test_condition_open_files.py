"""open_files: a real process that leaks file descriptors."""

import pytest
from condition_kit import bound, config_problems, python_child
from godpy.conditions.open_files import OpenFiles

LEAKER = """
import sys, time
held = [open("/dev/null") for _ in range(60)]
print("ready", flush=True)
time.sleep(60)
"""


def test_leaking_process_fires(pids):
    """60 extra descriptors cross above=40 and the readings show the count."""
    proc = python_child(pids, LEAKER)
    cond = bound(OpenFiles, proc.pid, above=40, times=(1, 2))
    assert cond.check() is True
    assert cond.info.startswith("open files out of bounds [*6")
    assert bound(OpenFiles, proc.pid, above=500).check() is False


def test_no_process_is_never_true():
    """Without a pid it is false and says so."""
    cond = bound(OpenFiles, None, above=1)
    assert cond.check() is False and cond.info == "process is not running"


@pytest.mark.parametrize(
    "attrs, message",
    [("", "'above' is required"), ("above='many'", "above must be a number of descriptors")],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake is reported against condition open_files."""
    text = config_problems(
        tmp_path, f'with w.restart_if() as on:\n    on.condition("open_files", {attrs})\n'
    )
    assert f"condition open_files: {message}" in text
