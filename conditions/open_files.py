"""open_files: the watched process holds too many file descriptors (a leak)."""

import psutil

from godpy.condition import PollCondition
from godpy.process import watched_pid
from godpy.timeline import Readings


class OpenFiles(PollCondition):
    """True when the watched process has more than ``above`` open file descriptors.

    Attributes:
        above: the limit, a number of descriptors (required).
        times: true ``x`` times in the last ``y`` checks, e.g. ``(3, 5)`` (default 1).
        pid_file: read the pid from this file instead of the watch's.

    Example:
        ``on.condition("open_files", above=900, times=(2, 3))`` in ``restart_if``
    """

    above = None
    pid_file = None
    required = ("above",)

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._readings = Readings(1, "")

    def valid(self) -> list[str]:
        """The limit is a whole number."""
        problems = super().valid()
        if self.above is not None and (not isinstance(self.above, int) or self.above < 0):
            problems.append(f"{self.describe()}: above must be a number of descriptors")
        return problems

    def prepare(self) -> None:
        """Keep as many readings as ``times`` looks at, for the log line."""
        super().prepare()
        self._readings = Readings(self._times[1], "")

    def test(self) -> bool:
        """Count the process's descriptors."""
        pid = watched_pid(self)
        if pid is None:
            self.info = "process is not running"
            return False
        count = psutil.Process(pid).num_fds()
        self._readings.push(count)
        bounds = "out of bounds" if count > self.above else "within bounds"
        self.info = f"open files {bounds} {self._readings.render(self.above)}"
        return count > self.above

    def reset(self) -> None:
        """Forget the readings too."""
        super().reset()
        self._readings.clear()
