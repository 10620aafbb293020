"""cpu_usage: CPU use of the watched process above a limit, since the previous check."""

import time

from godpy import system
from godpy.condition import PollCondition
from godpy.process import watched_pid
from godpy.timeline import Readings


class CpuUsage(PollCondition):
    """True when CPU use since the previous check is above ``above`` percent.

    The rate is measured between two checks, not averaged over the process's lifetime
    (God's bug #200). The first check after entering a state measures since the process
    started. 100% is one core fully busy.

    Attributes:
        above: limit in percent, a number or a string such as ``"50%"`` (required).
        times: true ``x`` times in the last ``y`` checks, e.g. ``(3, 5)`` (default 1).
        tree: add up the process and all its descendants (default False).
        pid_file: read the pid from this file instead of the watch's.

    Example:
        ``on.condition("cpu_usage", above="50%", times=(3, 5))``
    """

    above = None
    tree = False
    pid_file = None
    required = ("above",)
    units = {**PollCondition.units, "above": "percent"}

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._last: tuple[int, float, float] | None = None
        self._readings = Readings(1, "%", digits=1)

    def prepare(self) -> None:
        """Keep as many readings as ``times`` looks at, for the log line."""
        super().prepare()
        self._readings = Readings(self._times[1], "%", digits=1)

    def test(self) -> bool:
        """Compare CPU seconds used since the last check with the wall time elapsed."""
        pid = watched_pid(self)
        if pid is None:
            self.info = "process is not running"
            self._last = None
            return False
        used, wall = system.cpu_seconds(pid, self.tree), time.time()
        if self._last and self._last[0] == pid:
            prev_used, prev_wall = self._last[1], self._last[2]
        else:
            prev_used, prev_wall = 0.0, system.start_time(pid)
        self._last = (pid, used, wall)
        percent = 100.0 * (used - prev_used) / max(wall - prev_wall, 1e-6)
        self._readings.push(percent)
        bounds = "out of bounds" if percent > self.above else "within bounds"
        self.info = f"cpu {bounds} {self._readings.render(self.above)}"
        return percent > self.above

    def reset(self) -> None:
        """Forget readings; the next check measures afresh."""
        super().reset()
        self._last = None
        self._readings.clear()
