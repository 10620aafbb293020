"""command: a shell command's exit status decides (monit's "check program")."""

import os

from godpy.condition import PollCondition, describe_status, run_command


class Command(PollCondition):
    """True when the command exits with a status in ``code_is``, or not in ``code_is_not``.

    Without either, it triggers when the command fails (``code_is_not = 0``). The command
    runs in its own process group with stdin from /dev/null; after ``timeout`` seconds the
    whole group is killed, which counts as a failure (a hit with ``code_is_not``). The last
    line of its output goes to the log line.

    Attributes:
        command: a command line (run directly, or through /bin/sh -c when it uses shell
            syntax, as ``start`` is) or an argv list (required).
        code_is: an exit status or a list of them: trigger on these.
        code_is_not: trigger on any other status (default 0 when ``code_is`` is not set).
        timeout: seconds the command may run (default 10).
        env: variables added to godpy's environment for the command.
        times: true ``x`` times in the last ``y`` checks (default 1).

    Example:
        ``on.condition("command", command="pg_isready -q -h /run/postgresql", timeout=3,
        times=(2, 3))``
    """

    command = None
    code_is = None
    code_is_not = None
    timeout = 10.0
    env = None
    required = ("command",)
    units = {**PollCondition.units, "timeout": "seconds"}

    def valid(self) -> list[str]:
        """Not both code sets; status codes only; a positive timeout."""
        problems = super().valid()
        if self.command is not None and not isinstance(self.command, (str, list, tuple)):
            problems.append(f"{self.describe()}: command must be a string or an argv list")
        if self.code_is is not None and self.code_is_not is not None:
            problems.append(f"{self.describe()}: set only one of 'code_is' and 'code_is_not'")
        for name in ("code_is", "code_is_not"):
            try:
                _codes(getattr(self, name))
            except (TypeError, ValueError):
                problems.append(f"{self.describe()}: {name} must be exit statuses")
        if not self.timeout or self.timeout <= 0:
            problems.append(f"{self.describe()}: timeout must be positive")
        return problems

    def test(self) -> bool:
        """Run the command to completion or to its timeout."""
        code, output = self._run()
        if self.code_is is not None:
            hit = code is not None and code in _codes(self.code_is)
        else:
            hit = code is None or code not in _codes(self.code_is_not or 0)
        status = f"timed out after {self.timeout:g}s" if code is None else describe_status(code)
        last = output.strip().splitlines()[-1:] if output else []
        self.info = f"command {status}" + (f": {last[0][:200]}" if last else "")
        return hit

    def _run(self) -> tuple[int | None, str]:
        env = {**os.environ, **{k: str(v) for k, v in (self.env or {}).items()}}
        try:
            result = run_command(self.command, self.timeout, env=env)
        except (OSError, ValueError) as exc:
            return 127, f"cannot run it: {exc}"
        return result.code, result.output


def _codes(value) -> set[int]:
    if value is None:
        return set()
    return {int(v) for v in ([value] if isinstance(value, (int, str)) else value)}
