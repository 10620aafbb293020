"""file_touched: a touch triggers once (restart.txt), even across a restart."""

import os
import time

from condition_kit import bound, config_problems
from godpy.conditions.file_touched import FileTouched


def test_a_touch_triggers_once(tmp_path):
    """A fresh touch is true on the next check only; a later touch is true again."""
    flag = tmp_path / "restart.txt"
    cond = bound(FileTouched, path=str(flag), interval=5)
    assert cond.check() is False  # missing
    flag.touch()
    assert cond.check() is True
    assert cond.info.endswith("restart.txt was touched")
    assert cond.check() is False
    cond.reset()  # the restart it caused: the same touch must not fire again
    assert cond.check() is False
    later = time.time() + 1
    os.utime(flag, (later, later))
    assert cond.check() is True


def test_an_old_touch_does_not_trigger_on_the_first_check(tmp_path):
    """A file last touched long before the first check is not a request."""
    flag = tmp_path / "restart.txt"
    flag.touch()
    old = time.time() - 60
    os.utime(flag, (old, old))
    assert bound(FileTouched, path=str(flag), interval=5).check() is False


def test_a_touch_while_in_another_state_is_noticed(tmp_path):
    """A touch older than interval but newer than the last check still counts."""
    flag = tmp_path / "restart.txt"
    flag.touch()
    old = time.time() - 60
    os.utime(flag, (old, old))
    cond = bound(FileTouched, path=str(flag), interval=5)
    assert cond.check() is False
    newer = old + 30  # touched while the watch was elsewhere, 30 s ago
    os.utime(flag, (newer, newer))
    assert cond.check() is True


def test_path_is_required(tmp_path):
    """path is required."""
    text = config_problems(
        tmp_path, 'with w.restart_if() as on:\n    on.condition("file_touched")\n'
    )
    assert "condition file_touched: 'path' is required" in text
