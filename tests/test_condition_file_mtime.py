"""file_mtime: a file not modified for longer than max_age."""

import os
import time

from condition_kit import bound, config_problems
from godpy.conditions.file_mtime import FileMtime


def test_stale_file_fires_fresh_file_does_not(tmp_path):
    """A heartbeat older than max_age is true; touching it makes it false again."""
    beat = tmp_path / "heartbeat"
    beat.touch()
    cond = bound(FileMtime, path=str(beat), max_age="1min")
    assert cond.check() is False
    old = time.time() - 120
    os.utime(beat, (old, old))
    assert cond.check() is True
    assert "(more than 60s)" in cond.info
    beat.touch()
    assert cond.check() is False


def test_missing_file_is_not_true(tmp_path):
    """A file that does not exist is false, and the info says so."""
    cond = bound(FileMtime, path=str(tmp_path / "nope"), max_age=1)
    assert cond.check() is False
    assert cond.info.endswith("nope does not exist")


def test_required_attributes_and_bad_duration(tmp_path):
    """path and max_age are required; a bad duration names the attribute."""
    text = config_problems(
        tmp_path,
        'with w.restart_if() as on:\n    on.condition("file_mtime")\n',
    )
    assert "condition file_mtime: 'path' is required" in text
    assert "condition file_mtime: 'max_age' is required" in text
    text = config_problems(
        tmp_path,
        "with w.restart_if() as on:\n"
        '    on.condition("file_mtime", path="/x", max_age="5 lightyears")\n',
    )
    assert "max_age: bad duration '5 lightyears'" in text
