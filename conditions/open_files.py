"""open_files: the watched process holds too many file descriptors (a leak)."""

from godpy.condition import CountCondition, open_files


class OpenFiles(CountCondition):
    """True when the watched process has more than ``above`` open file descriptors.

    Attributes:
        above: the limit, a number of descriptors (required).
        times: true ``x`` times in the last ``y`` checks, e.g. ``(3, 5)`` (default 1).
        pid_file: read the pid from this file instead of the watch's.

    Example:
        ``on.condition("open_files", above=900, times=(2, 3))`` in ``restart_if``
    """

    _label = "open files"
    _what = "descriptors"

    def read(self, pid: int) -> float:
        """The number of open descriptors."""
        return open_files(pid)
