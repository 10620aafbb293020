"""cpu_usage: CPU use of the watched process above a limit, since the previous check."""

import time

from godpy.condition import ThresholdCondition, cpu_seconds, process_age


class CpuUsage(ThresholdCondition):
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

    tree = False
    units = {"above": "percent"}
    _label = "cpu"
    _unit = "%"
    _digits = 1

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._last: tuple[int, float, float] | None = None

    def read(self, pid: int) -> float:
        """CPU seconds used since the last check over the wall time elapsed, in percent."""
        used, wall = cpu_seconds(pid, self.tree), time.time()
        if self._last and self._last[0] == pid:
            prev_used, prev_wall = self._last[1], self._last[2]
        else:
            prev_used, prev_wall = 0.0, wall - (process_age(pid) or 0.0)
        self._last = (pid, used, wall)
        return 100.0 * (used - prev_used) / max(wall - prev_wall, 1e-6)

    def forget(self) -> None:
        """The next check measures afresh."""
        self._last = None
