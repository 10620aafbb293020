"""file_touched: a file was touched, e.g. ``tmp/restart.txt`` to ask for a restart."""

import os
import time

from godpy.condition import PollCondition


class FileTouched(PollCondition):
    """True when the file at ``path`` was modified since the previous check.

    As in God, a modification within the last ``interval`` seconds counts on the first
    check. Unlike God, one touch triggers once: the restart it causes does not see the
    same touch again, and a touch made while the watch was in another state is noticed
    when it comes back. A missing file is never true.

    Attributes:
        path: the file to look at (required).

    Example:
        ``on.condition("file_touched", path="/srv/app/tmp/restart.txt")`` in ``restart_if``
    """

    path = None
    required = ("path",)

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._last = None  # mtime seen at the previous check (kept across states)
        self._fired = None  # mtime that last triggered

    def test(self) -> bool:
        """Trigger on a new modification time."""
        try:
            mtime = os.stat(self.path).st_mtime
        except FileNotFoundError:
            self.info = f"{self.path} does not exist"
            return False
        changed = self._last is not None and mtime > self._last
        fresh = time.time() - mtime <= (self.interval or 0)
        hit = (changed or fresh) and mtime != self._fired
        self._last = mtime
        if hit:
            self._fired = mtime
        self.info = f"{self.path} was touched" if hit else f"{self.path} not touched"
        return hit
