"""wait_for_port: after start, wait until the process listens on its port."""

import time

from godpy.behavior import Behavior, BehaviorError, listening_ports


class WaitForPort(Behavior):
    """After ``start``, wait until the process listens on ``port`` before leaving start.

    The watch stays in ``start`` (its driver waits) until the process, or one of its
    children, has a listening TCP socket on ``port``, at most ``timeout`` seconds. Too
    long, or a process that exits, is logged as an error; the watch goes on either way.

    Attributes:
        port: the TCP port the process listens on when ready (required).
        timeout: seconds to wait at most (default 30).
        interval: seconds between two looks (default 0.1).

    Example:
        ``w.behavior("wait_for_port", port=8080, timeout=20)``
    """

    port = None
    timeout = 30.0
    interval = 0.1
    required = ("port",)
    units = {"timeout": "seconds", "interval": "seconds"}

    def valid(self) -> list[str]:
        """``port`` in 1..65535; ``timeout`` and ``interval`` positive; a watch."""
        problems = super().valid()
        port = self.port
        if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
            problems.append(
                f"{self.describe()}: port must be an integer from 1 to 65535, not {port!r}"
            )
        for name in ("timeout", "interval"):
            if getattr(self, name) <= 0:
                problems.append(f"{self.describe()}: {name} must be positive")
        if not hasattr(self.task, "pid"):
            problems.append(
                f"{self.describe()}: needs a watch; {self.task.describe()} has no process"
            )
        return problems

    def after_start(self) -> str:
        """Wait for the port; return how long it took.

        Raises:
            BehaviorError: no process, it exited, or the port did not open in time.
        """
        begun = time.monotonic()
        deadline = begun + self.timeout
        while True:
            pid = self.task.pid
            if pid is None:
                raise BehaviorError(f"process exited before listening on port {self.port}")
            try:
                if self.port in listening_ports(pid, tree=True):
                    return f"port {self.port} listening after {time.monotonic() - begun:.2f}s"
            except ProcessLookupError:
                raise BehaviorError(
                    f"process {pid} exited before listening on port {self.port}"
                ) from None
            if time.monotonic() >= deadline:
                raise BehaviorError(
                    f"port {self.port} not listening after {self.timeout:g}s (pid {pid})"
                )
            time.sleep(self.interval)
