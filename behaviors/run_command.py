"""run_command: run a shell command before or after one of the watch's actions."""

import os

from godpy.behavior import Behavior, BehaviorError, run_command, suggest

WHEN = ("before", "after")


class RunCommand(Behavior):
    """Run ``command`` before or after ``action`` (``start``, ``stop``, ``restart``).

    The command runs through /bin/sh (a list runs as argv), in its own session, with
    GODPY_WATCH, GODPY_ACTION and GODPY_PID (when running) added to the environment. A
    command still running after ``timeout`` is killed with its children. A non-zero exit
    is logged as an error with its last output line; it never stops the action.

    Attributes:
        command: a shell command string, or an argv list (required).
        action: the action to hook, e.g. "start" (required).
        when: "before" or "after" (default "after").
        timeout: seconds the command may take (default 30).

    Example:
        ``w.behavior("run_command", command="./warm_cache.sh", action="start")``
    """

    command = None
    action = None
    when = "after"
    timeout = 30.0
    required = ("command", "action")
    units = {"timeout": "seconds"}

    def valid(self) -> list[str]:
        """``when`` before/after, ``action`` one of the task's actions, ``timeout`` > 0."""
        problems = super().valid()
        if self.when not in WHEN:
            problems.append(
                f"{self.describe()}: when must be 'before' or 'after', not {self.when!r}"
            )
        actions = self._actions()
        if self.action is not None and self.action not in actions:
            problems.append(
                f"{self.describe()}: unknown action {self.action!r}"
                f"{suggest(str(self.action), actions)} (actions: {', '.join(actions)})"
            )
        if not isinstance(self.command, (str, list, tuple)) and self.command is not None:
            problems.append(f"{self.describe()}: command must be a string or an argv list")
        if self.timeout <= 0:
            problems.append(f"{self.describe()}: timeout must be positive")
        return problems

    def _actions(self) -> list[str]:
        if hasattr(self.task, "pid"):
            return ["start", "stop", "restart"]
        return list(self.task.valid_states or ())

    def hook(self, when: str, action: str):
        """The command runner for the chosen moment, else None."""
        return self.run if (when, action) == (self.when, self.action) else None

    def run(self) -> str:
        """Run the command and wait for it, at most ``timeout`` seconds.

        Raises:
            BehaviorError: it failed to start, exited non-zero, or timed out.
        """
        try:
            result = run_command(self.command, self.timeout, env=self._env())
        except (OSError, ValueError) as exc:
            raise BehaviorError(f"cannot run {self.command!r}: {exc}") from None
        if result.timed_out:
            raise BehaviorError(f"{self.command!r} still running after {self.timeout:g}s; killed")
        if result.code != 0:
            raise BehaviorError(
                f"{self.command!r} exited with code {result.code}: {result.last_line()}"
            )
        return f"ran {self.command!r}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, GODPY_WATCH=str(self.task.name), GODPY_ACTION=str(self.action))
        pid = getattr(self.task, "pid", None)
        if pid is not None:
            env["GODPY_PID"] = str(pid)
        return env
