"""threads: the watched process runs too many threads (a thread leak)."""

from godpy.condition import CountCondition, thread_count


class Threads(CountCondition):
    """True when the watched process has more than ``above`` threads.

    Attributes:
        above: the limit, a number of threads (required).
        times: true ``x`` times in the last ``y`` checks, e.g. ``(3, 5)`` (default 1).
        pid_file: read the pid from this file instead of the watch's.

    Example:
        ``on.condition("threads", above=200, times=(2, 3))`` in ``restart_if``
    """

    _label = "threads"
    _what = "threads"

    def read(self, pid: int) -> float:
        """The number of threads."""
        return thread_count(pid)
