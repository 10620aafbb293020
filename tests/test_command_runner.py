"""The command runner every command goes through: one rule for strings and lists, a
timeout that kills the whole group, output captured (real processes)."""

import os

import pytest
from conftest import alive, wait_until

from godpy.command_runner import argv_for, run_command

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "command, argv",
    [
        ("sleep 1", ["sleep", "1"]),
        (["echo", "a b"], ["echo", "a b"]),
        ("echo $HOME", ["/bin/sh", "-c", "echo $HOME"]),
        ("exit 3", ["/bin/sh", "-c", "exit 3"]),
        ("X=1 env", ["/bin/sh", "-c", "X=1 env"]),
    ],
)
def test_one_rule_for_strings_and_lists(command, argv):
    """Plain strings are exec'd, shell syntax and shell-only words go through sh."""
    assert argv_for(command) == argv


def test_exit_status_and_output_are_returned():
    """The status, stdout and stderr (merged unless asked apart)."""
    result = run_command("echo out; echo err >&2; exit 3", 10)
    assert (result.code, result.output) == (3, "out\nerr\n")
    apart = run_command("echo out; echo err >&2", 10, separate_errors=True)
    assert (apart.code, apart.output, apart.errors) == (0, "out\n", "err\n")
    assert apart.last_line() == "out"


def test_input_reaches_stdin():
    """`input` is written to the command's stdin."""
    assert run_command(["cat"], 10, input=b"hello").output == "hello"


def test_timeout_kills_the_whole_group(tmp_path, pids):
    """At timeout the command and everything it started are killed; code is None."""
    child = tmp_path / "child"
    result = run_command(f"sleep 60 & echo $! > {child}; wait", 0.3)
    assert result.timed_out and result.code is None
    grandchild = pids.add(int(child.read_text()))
    wait_until(lambda: not alive(grandchild), what="the grandchild killed with its group")


def test_a_missing_program_raises_oserror():
    """A command that cannot start raises (the caller says so in its own words)."""
    with pytest.raises(FileNotFoundError):
        run_command(["/nonexistent/prog"], 10)


def test_env_is_the_commands_environment():
    """`env` replaces the environment."""
    assert run_command("echo $ONLY", 10, env={"ONLY": "this", "PATH": os.defpath}).output == (
        "this\n"
    )
