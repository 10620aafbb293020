"""ThresholdCondition: a reading of the watched process above a limit.

The shared shape of memory_usage, cpu_usage, open_files and threads, and a base for
plugin authors: declare the attributes, implement ``read(pid)``.
"""

from __future__ import annotations

from godpy.condition import PollCondition
from godpy.pids import watched_pid
from godpy.timeline import Readings


class ThresholdCondition(PollCondition):
    """True when ``read(pid)`` of the watched process is above ``above``.

    The log line and notifications show the recent readings, a star on each one over the
    limit: ``memory out of bounds [*51200kb, 2032kb]``.

    Subclasses set ``_label`` (the word in the log line), ``_unit`` and ``_digits`` for
    the readings, and implement ``read(pid)``; ``forget()`` drops any state of ``read``.

    Attributes:
        above: the limit (required).
        times: true ``x`` times in the last ``y`` checks (default 1).
        pid_file: read the pid from this file instead of the watch's.
    """

    above = None
    pid_file = None
    required = ("above",)
    _label = "reading"
    _unit = ""
    _digits = 0

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._readings = Readings(1, self._unit, self._digits)

    def prepare(self) -> None:
        """Keep as many readings as ``times`` looks at, for the log line."""
        super().prepare()
        self._readings = Readings(self._times[1], self._unit, self._digits)

    def read(self, pid: int) -> float:
        """The current reading of process ``pid``."""
        raise NotImplementedError(f"{type(self).__name__} must implement read(pid)")

    def forget(self) -> None:
        """Drop state kept between readings (the process is gone or the state was left)."""

    def test(self) -> bool:
        """Read the value and compare it with the limit."""
        pid = watched_pid(self)
        if pid is None:
            self.info = "process is not running"
            self.forget()
            return False
        value = self.read(pid)
        self._readings.push(value)
        bounds = "out of bounds" if value > self.above else "within bounds"
        self.info = f"{self._label} {bounds} {self._readings.render(self.above)}"
        return value > self.above

    def reset(self) -> None:
        """Forget the readings too."""
        super().reset()
        self.forget()
        self._readings.clear()


class CountCondition(ThresholdCondition):
    """A threshold on a whole count (descriptors, threads): ``above`` must be an int."""

    _what = "items"

    def valid(self) -> list[str]:
        """The limit is a whole, non-negative number."""
        problems = super().valid()
        if self.above is not None and (not isinstance(self.above, int) or self.above < 0):
            problems.append(f"{self.describe()}: above must be a number of {self._what}")
        return problems
