"""The command runner: run a command to completion or to its timeout, then kill its group.

One rule for every command godpy runs (start/stop/restart commands, the ``command``
condition, the ``run_command`` behavior, the ``command`` contact, a generic task's state
commands): a string is exec'd directly, or through ``/bin/sh -c`` when it uses shell
syntax; a list is the argv. The command leads its own process group, so at ``timeout``
the whole group is killed, children included.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

_SHELL_CHARS = set("|&;<>()$`*?[]#~{}!\n")
_ASSIGNMENT = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*=")
#: Words only a shell knows (builtins and keywords with no program of that name).
_SHELL_WORDS = frozenset(
    [
        "exit",
        "cd",
        "export",
        "source",
        ".",
        "exec",
        "eval",
        "set",
        "unset",
        "ulimit",
        "umask",
        "alias",
        "trap",
        "wait",
        "read",
        "shift",
        "return",
        "local",
        "if",
        "for",
        "while",
        "until",
        "case",
    ]
)


def argv_for(command) -> list[str]:
    """Return the argv to exec: the shell only when the command uses shell syntax (or
    starts with a word only a shell knows, such as ``exit`` or ``cd``).

    Raises:
        ValueError: a string with unbalanced quotes.
    """
    if isinstance(command, (list, tuple)):
        return [str(part) for part in command]
    if any(ch in _SHELL_CHARS for ch in command) or _ASSIGNMENT.match(command):
        return ["/bin/sh", "-c", command]
    argv = shlex.split(command)
    return ["/bin/sh", "-c", command] if argv and argv[0] in _SHELL_WORDS else argv


@dataclass
class CommandResult:
    """How a command ended.

    Attributes:
        code: its exit status (negative: killed by that signal); None when it timed out.
        output: what it wrote on stdout (and stderr, unless asked apart), decoded.
        errors: its stderr, when asked apart.
    """

    code: int | None
    output: str = ""
    errors: str = ""

    @property
    def timed_out(self) -> bool:
        """True when the command was killed at its timeout."""
        return self.code is None

    def last_line(self, limit: int = 200) -> str:
        """The last line of its output (for a log line), at most ``limit`` characters."""
        lines = (self.output or self.errors).strip().splitlines()
        return lines[-1][:limit] if lines else ""


def run_command(
    command,
    timeout: float,
    env: dict | None = None,
    input: bytes | None = None,
    separate_errors: bool = False,
    spawn: Callable[[list[str]], subprocess.Popen] | None = None,
    popen_kwargs: dict | None = None,
) -> CommandResult:
    """Run ``command`` to completion, or kill its whole group after ``timeout`` seconds.

    Args:
        command: a string (run directly, or through /bin/sh -c for shell syntax) or argv.
        timeout: seconds it may run.
        env: its environment (default: godpy's).
        input: bytes written to its stdin (default: stdin is /dev/null).
        separate_errors: keep stderr apart (``errors``) instead of with stdout.
        spawn: makes the process from the argv instead (a watch's, with its user, its
            logs and its environment); its output is then not captured.
        popen_kwargs: more ``subprocess.Popen`` arguments (``user``, ``group``, ...).

    Raises:
        OSError: it could not be started (no such file, no permission).
        ValueError: a command string with unbalanced quotes.
    """
    argv = argv_for(command)
    if spawn is not None:
        proc = spawn(argv)
    else:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if separate_errors else subprocess.STDOUT,
            env=env,
            start_new_session=True,
            **(popen_kwargs or {}),
        )
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return CommandResult(None)
    return CommandResult(proc.returncode, _text(out), _text(err))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.communicate(timeout=1.0)
    except subprocess.TimeoutExpired:  # one left the group and holds the pipe open
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        proc.wait()


def _text(data: bytes | None) -> str:
    return data.decode("utf-8", "replace") if data else ""
