"""process_exits: an event condition fired the moment the watched process exits."""

from godpy.condition import EventCondition, describe_status


class ProcessExits(EventCondition):
    """Triggers when the watched process exits (netlink proc connector, no polling).

    Attributes:
        pid_file: follow the pid in this file instead of the watch's own.

    Example:
        ``with w.transition("up", "start") as on: on.condition("process_exits")``
    """

    pid_file = None

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._pid = None
        self._callback = None

    def register(self) -> None:
        """Register for the exit of the current pid; fire at once if it is already gone."""
        self._pid = self.watched_pid()
        self._callback = self.callback()
        if self._pid is None:
            self._callback({"pid": None})
            return
        process = getattr(self.task, "process", None)
        since = process.tracked_since if process is not None else None
        self.task.events.register(self._pid, self._callback, since)
        self.task.applog(10, "registered 'proc_exit' event for pid %d", self._pid)
        if self.watched_pid() != self._pid:
            self._callback({"pid": self._pid})

    def deregister(self) -> None:
        """Stop listening for the exit of the registered pid."""
        if self._pid is not None and self._callback is not None:
            self.task.events.deregister(self._pid, self._callback)
            self.task.applog(10, "deregistered 'proc_exit' event for pid %d", self._pid)
        self._pid = self._callback = None

    def accept(self, payload) -> bool:
        """Describe the exit from the event: the kernel's own record of its status."""
        payload = payload or {}
        status, pid = payload.get("status"), payload.get("pid")
        code = None if status is None else -(status & 0x7F) if status & 0x7F else status >> 8
        reason = None if code is None else describe_status(code)
        self.info = f"process {pid} {reason or 'exited'}" if pid else "process is not running"
        return True
