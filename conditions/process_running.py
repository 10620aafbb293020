"""process_running: is the watched process running (or not)?"""

from godpy.condition import PollCondition


class ProcessRunning(PollCondition):
    """True when the process's running state equals ``running``.

    Attributes:
        running: True to trigger when it runs, False to trigger when it does not (required).
        pid_file: read the pid from this file instead of the watch's (required for a task).
        interval: seconds between checks (default: the watch's interval).

    Example:
        ``on.condition("process_running", running=False)`` inside ``w.start_if()``.
    """

    running = None
    pid_file = None
    required = ("running",)

    def valid(self) -> list[str]:
        """A task without a process needs ``pid_file``."""
        problems = super().valid()
        if self.pid_file is None and getattr(self.task, "process", None) is None:
            problems.append(f"{self.describe()}: 'pid_file' is required outside a watch")
        return problems

    def test(self) -> bool:
        """Check whether the pid exists and is the process we started."""
        pid = self.watched_pid()
        active = pid is not None
        if active:
            self.info = f"process {pid} is running"
        else:
            reason = getattr(getattr(self.task, "process", None), "last_exit", None)
            self.info = "process is not running" + (f" ({reason})" if reason else "")
        return active == bool(self.running)
