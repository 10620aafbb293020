"""load_average: the system load average above a limit."""

import os

from godpy.condition import PollCondition

WINDOWS = (1, 5, 15)


class LoadAverage(PollCondition):
    """True when the system load average over ``minutes`` is above ``above``.

    Attributes:
        above: the load that triggers, e.g. ``4`` or ``2.5`` (required).
        minutes: which average, 1, 5 or 15 (default 1).
        times: true ``x`` times in the last ``y`` checks, e.g. ``(3, 5)`` (default 1).
        interval: seconds between checks (default: the watch's interval).

    Example:
        ``on.condition("load_average", above=4, minutes=5, times=(3, 5))``
    """

    above = None
    minutes = 1
    required = ("above",)

    def valid(self) -> list[str]:
        """``above`` a number and ``minutes`` one of 1, 5, 15."""
        problems = super().valid()
        if self.above is not None and not isinstance(self.above, (int, float)):
            problems.append(f"{self.describe()}: above must be a number, not {self.above!r}")
        if self.minutes not in WINDOWS:
            problems.append(f"{self.describe()}: minutes must be 1, 5 or 15, not {self.minutes!r}")
        return problems

    def test(self) -> bool:
        """Read the load average and compare it with ``above``."""
        load = os.getloadavg()[WINDOWS.index(self.minutes)]
        over = load > self.above
        self.info = (
            f"load average {load:.2f} ({self.minutes} min) {'>' if over else '<='} {self.above}"
        )
        return over
