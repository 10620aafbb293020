"""command: run a program for each notification, the message in its environment and stdin."""

import json
import os

from godpy.contact import FIELDS, Contact, DeliveryError, argv_for, body, run_command


class Command(Contact):
    """Runs ``command`` for each notification; exit status 0 is success.

    The program gets ``GODPY_WATCH``, ``GODPY_GROUP``, ``GODPY_MESSAGE``, ``GODPY_TIME``,
    ``GODPY_PRIORITY``, ``GODPY_CATEGORY``, ``GODPY_HOST``, ``GODPY_CONDITION``,
    ``GODPY_CONTACT`` and ``GODPY_SUPPRESSED`` in its environment (empty when unset), and
    the message on stdin. It runs in its own session; at ``timeout`` its whole process
    group is killed and the attempt fails.

    Attributes:
        command: a list of arguments, or a string split like a shell would (no shell
            features; use ``["sh", "-c", "..."]`` for those) (required).
        stdin: what stdin gets: "text" (``Field: value`` lines, as the email body) or
            "json" (one JSON object) (default "text").
        env: extra environment variables (default {}).
        timeout: seconds the program may run (default 10).

    Example:
        ``with God.contact("command") as c: c.name = "pager"; c.command =
        ["/usr/local/bin/page", "--team", "ops"]; c.stdin = "json"``
    """

    command: str | list | None = None
    stdin = "text"
    env: dict | None = None
    required = ("name", "command")

    def valid(self) -> list[str]:
        """Check ``stdin`` and ``env``."""
        problems = super().valid()
        if self.stdin not in ("text", "json"):
            problems.append(f"{self.describe()}: stdin must be 'text' or 'json'")
        if self.env is not None and not isinstance(self.env, dict):
            problems.append(f"{self.describe()}: env must be a dict")
        return problems

    def argv(self) -> list[str]:
        """The program and its arguments (a string with shell syntax runs through sh)."""
        return argv_for(self.command or [])

    def environment(self, message: dict) -> dict:
        """The program's environment: ours, ``env``, and the message fields."""
        fields = {f"GODPY_{k.upper()}": str(message.get(k) or "") for k in FIELDS}
        fields["GODPY_SUPPRESSED"] = str(message.get("suppressed") or 0)
        return {**os.environ, **(self.env or {}), **fields}

    def notify(self, message: dict) -> str:
        """Run the program; return its exit status."""
        data = json.dumps(message) + "\n" if self.stdin == "json" else body(message)
        result = run_command(
            self.argv(),
            self.timeout,
            env=self.environment(message),
            input=data.encode(),
            separate_errors=True,
        )
        argv0 = self.argv()[0]
        if result.timed_out:
            raise DeliveryError(f"{argv0} still running after {self.timeout:g}s; killed")
        if result.code != 0:
            raise DeliveryError(f"{argv0} exited {result.code}: {result.errors.strip()[-300:]}")
        return f"ran {self.argv()[0]} (exit 0)"
