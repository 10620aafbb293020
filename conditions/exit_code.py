"""exit_code: the watched process exited with one of the given codes (an event)."""

import os
import signal

from godpy.condition import EventCondition, describe_status


class ExitCode(EventCondition):
    """Triggers when the watched process exits with a code in ``codes``.

    Read from the process-exit event (netlink), so it needs events like
    ``process_exits``. An exit with another code does not trigger: pair it with
    ``process_exits`` (``keepalive()`` does) so that the other exits still restart. A
    process already gone when the state is entered cannot tell its code and is left to
    ``process_exits``.

    Attributes:
        codes: an exit status, a signal name (``"SIGKILL"``, ``"KILL"``: killed by it) or
            a list of them (required).
        pid_file: follow the pid in this file instead of the watch's own.

    Example:
        ``with w.transition("up", "unmonitored") as on: on.condition("exit_code", codes=78)``
        (78 is EX_CONFIG: restarting will not help; keepalive restarts on other codes.)
    """

    codes = None
    pid_file = None
    required = ("codes",)

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._pid = None
        self._callback = None

    def valid(self) -> list[str]:
        """Codes are statuses 0-255 or signal names."""
        problems = super().valid()
        try:
            self.wanted()
        except (TypeError, ValueError) as exc:
            problems.append(f"{self.describe()}: codes: {exc}")
        return problems

    def wanted(self) -> set[int]:
        """``codes`` as return codes: exit statuses, and -N for "killed by signal N"."""
        items = [] if self.codes is None else self.codes
        out = set()
        for item in [items] if isinstance(items, (int, str)) else items:
            if isinstance(item, int) and 0 <= item <= 255:
                out.add(item)
            elif isinstance(item, str) and hasattr(signal.Signals, _signame(item)):
                out.add(-int(getattr(signal.Signals, _signame(item))))
            else:
                raise ValueError(f"{item!r} is neither an exit status (0-255) nor a signal name")
        return out

    def register(self) -> None:
        """Register for the exit of the current pid."""
        self._pid = self.watched_pid()
        if self._pid is None:
            return
        self._callback = self.callback()
        self.task.events.register(self._pid, self._callback)
        self.task.applog(10, "registered 'exit_code' event for pid %d", self._pid)

    def deregister(self) -> None:
        """Stop listening for the exit of the registered pid."""
        if self._pid is not None and self._callback is not None:
            self.task.events.deregister(self._pid, self._callback)
        self._pid = self._callback = None

    def accept(self, payload) -> bool:
        """Decode the raw wait status of the exit event; trigger on a wanted code."""
        status = (payload or {}).get("status")
        if status is None:
            return False
        try:
            code = os.waitstatus_to_exitcode(status)
        except ValueError:  # not an exit status (stopped): nothing to say
            return False
        self.info = f"process {payload.get('pid')} {describe_status(code)}"
        return code in self.wanted()


def _signame(name: str) -> str:
    name = name.upper()
    return name if name.startswith("SIG") else f"SIG{name}"
