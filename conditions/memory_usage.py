"""memory_usage: resident memory of the watched process above a limit."""

from godpy import system
from godpy.condition import PollCondition
from godpy.process import watched_pid
from godpy.timeline import Readings


class MemoryUsage(PollCondition):
    """True when resident memory (RSS) is above ``above``.

    Attributes:
        above: limit in kilobytes, or a string such as ``"150MB"`` (required).
        times: true ``x`` times in the last ``y`` checks, e.g. ``(3, 5)`` (default 1).
        tree: add up the process and all its descendants (default False).
        pid_file: read the pid from this file instead of the watch's.

    Example:
        ``on.condition("memory_usage", above="150MB", times=(3, 5))``
    """

    above = None
    tree = False
    pid_file = None
    required = ("above",)
    units = {**PollCondition.units, "above": "kilobytes"}

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._readings = Readings(1, "kb")

    def prepare(self) -> None:
        """Keep as many readings as ``times`` looks at, for the log line."""
        super().prepare()
        self._readings = Readings(self._times[1], "kb")

    def test(self) -> bool:
        """Read RSS and compare it with the limit."""
        pid = watched_pid(self)
        if pid is None:
            self.info = "process is not running"
            return False
        kb = system.memory_kb(pid, self.tree)
        self._readings.push(kb)
        bounds = "out of bounds" if kb > self.above else "within bounds"
        self.info = f"memory {bounds} {self._readings.render(self.above)}"
        return kb > self.above

    def reset(self) -> None:
        """Forget the readings too."""
        super().reset()
        self._readings.clear()
