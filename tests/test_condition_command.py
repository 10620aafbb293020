"""command: a real shell command's exit status, killed with its children on timeout."""

import time

import pytest
from condition_kit import bound, config_problems
from conftest import alive, wait_until
from godpy.conditions.command import Command


def test_failing_command_fires_by_default(tmp_path):
    """Without code_is/code_is_not, a non-zero exit triggers; the last output line shows."""
    cond = bound(Command, command="test -e " + str(tmp_path / "ready"))
    assert cond.check() is True
    assert cond.info == "command exited with code 1"
    (tmp_path / "ready").touch()
    assert cond.check() is False
    noisy = bound(Command, command="echo checking; echo 'queue depth 12'; exit 2")
    assert noisy.check() is True
    assert noisy.info == "command exited with code 2: queue depth 12"


def test_code_is_and_code_is_not():
    """code_is triggers on the listed codes only; code_is_not on any other."""
    assert bound(Command, command="exit 3", code_is=[3, 4]).check() is True
    assert bound(Command, command="exit 5", code_is=[3, 4]).check() is False
    assert bound(Command, command="exit 1", code_is_not=[0, 1]).check() is False
    assert bound(Command, command=["sh", "-c", "exit 7"], code_is_not=0).check() is True


def test_env_is_passed(tmp_path):
    """env adds variables for the command."""
    cond = bound(Command, command='test "$MODE" = drain', env={"MODE": "drain"})
    assert cond.check() is False


def test_timeout_kills_the_whole_group(tmp_path):
    """A hung command costs only timeout; it and its children are killed; it is a hit."""
    pid_file = tmp_path / "grandchild"
    cond = bound(Command, command=f"sleep 30 & echo $! > {pid_file}; wait", timeout=0.3)
    started = time.monotonic()
    assert cond.check() is True
    assert time.monotonic() - started < 20  # not stuck (the command sleeps 30 s)
    assert cond.info == "command timed out after 0.3s"
    grandchild = int(pid_file.read_text())
    wait_until(lambda: not alive(grandchild), timeout=5)


def test_timeout_is_no_hit_for_code_is():
    """With code_is, a command that never answers has no code to match."""
    assert bound(Command, command="sleep 5", code_is=1, timeout=0.1).check() is False


@pytest.mark.parametrize(
    "attrs, message",
    [
        ("", "'command' is required"),
        ("command='true', code_is=1, code_is_not=0", "set only one of 'code_is' and 'code_is_not'"),
        ("command='true', code_is='one'", "code_is must be exit statuses"),
        ("command='true', timeout=0", "timeout must be positive"),
        ("command=42", "command must be a string or an argv list"),
    ],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake is reported against condition command."""
    text = config_problems(
        tmp_path, f'with w.restart_if() as on:\n    on.condition("command", {attrs})\n'
    )
    assert f"condition command: {message}" in text
