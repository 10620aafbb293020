"""file_mtime: a file not modified for too long (a stalled heartbeat or log)."""

import os
import time

from godpy.condition import PollCondition


class FileMtime(PollCondition):
    """True when the file at ``path`` was last modified more than ``max_age`` ago.

    A missing file is never true (it says so in the log line).

    Attributes:
        path: the file to look at (required).
        max_age: seconds, or a string such as ``"5min"`` (required).
        times: true ``x`` times in the last ``y`` checks (default 1).

    Example:
        ``on.condition("file_mtime", path="/var/run/worker.heartbeat", max_age="2min")``
    """

    path = None
    max_age = None
    required = ("path", "max_age")
    units = {**PollCondition.units, "max_age": "seconds"}

    def test(self) -> bool:
        """Compare the file's age with ``max_age``."""
        try:
            age = time.time() - os.stat(self.path).st_mtime
        except FileNotFoundError:
            self.info = f"{self.path} does not exist"
            return False
        stale = age > self.max_age
        self.info = f"{self.path} modified {age:.1f}s ago" + (
            f" (more than {self.max_age:g}s)" if stale else ""
        )
        return stale
