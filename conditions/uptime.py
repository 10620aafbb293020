"""uptime: the watched process has run longer than a limit (periodic restarts)."""

from godpy.condition import PollCondition, process_age


class Uptime(PollCondition):
    """True when the watched process has been running for more than ``above`` seconds.

    In ``restart_if`` this restarts a process that is known to degrade over days; the
    restarted process is young again, so it fires once per ``above``.

    Attributes:
        above: seconds, or a string such as ``"12h"`` or ``"1d"`` (required).
        pid_file: read the pid from this file instead of the watch's.

    Example:
        ``on.condition("uptime", above="24h", interval="5min")`` in ``restart_if``
    """

    above = None
    pid_file = None
    required = ("above",)
    units = {**PollCondition.units, "above": "seconds"}

    def test(self) -> bool:
        """Compare the process's age with the limit."""
        pid = self.watched_pid()
        if pid is None:
            self.info = "process is not running"
            return False
        seconds = process_age(pid)  # to the clock tick: psutil's create_time is off by up to 1 s
        if seconds is None:
            self.info = "process is not running"
            return False
        old = seconds > self.above
        self.info = f"process {pid} up {seconds:.0f}s" + (f" (over {self.above:g}s)" if old else "")
        return old
