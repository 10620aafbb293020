"""log: append each notification to a file as one JSON line."""

import json
import os

from godpy.contact import FIELDS, Contact


class Log(Contact):
    """Appends each notification to ``path`` as one JSON object per line.

    The object holds ``watch``, ``group``, ``message``, ``time``, ``priority``,
    ``category``, ``host``, ``condition``, ``contact`` and ``suppressed``. The file is
    opened for each line, so log rotation needs no signal.

    Attributes:
        path: the file to append to; its folder must exist (required).

    Example:
        ``with God.contact("log") as c: c.name = "audit"; c.group = "developers";
        c.path = "/var/log/godpy/notifications.jsonl"``
    """

    path = None
    required = ("name", "path")

    def valid(self) -> list[str]:
        """Check that the file's folder exists."""
        problems = super().valid()
        if self.path is not None:
            folder = os.path.dirname(os.path.abspath(str(self.path)))
            if not os.path.isdir(folder):
                problems.append(f"{self.describe()}: folder {folder} does not exist")
        return problems

    def notify(self, message: dict) -> str:
        """Append the line; return where it went."""
        line = json.dumps({k: message.get(k) for k in FIELDS}, sort_keys=False) + "\n"
        with open(str(self.path), "a", encoding="utf-8") as fh:
            fh.write(line)
        return f"wrote to {self.path}"
