"""memory_usage: resident memory of the watched process above a limit."""

from godpy.condition import ThresholdCondition, memory_kb


class MemoryUsage(ThresholdCondition):
    """True when resident memory (RSS) is above ``above``.

    Attributes:
        above: limit in kilobytes, or a string such as ``"150MB"`` (required).
        times: true ``x`` times in the last ``y`` checks, e.g. ``(3, 5)`` (default 1).
        tree: add up the process and all its descendants (default False).
        pid_file: read the pid from this file instead of the watch's.

    Example:
        ``on.condition("memory_usage", above="150MB", times=(3, 5))``
    """

    tree = False
    units = {"above": "kilobytes"}
    _label = "memory"
    _unit = "kb"

    def read(self, pid: int) -> float:
        """RSS in kilobytes."""
        return memory_kb(pid, self.tree)
