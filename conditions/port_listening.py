"""port_listening: the watched process itself listens on a TCP port (a ready check)."""

from godpy.condition import PollCondition, listening_ports


class PortListening(PollCondition):
    """True when the watched process (or one of its descendants) listens on ``port``.

    Unlike ``socket_responding`` it asks the kernel which process owns the listening
    socket, so another program on the same port does not count. In
    ``transition("start", "up")`` it makes ``up`` mean "ready to serve".

    Attributes:
        port: the TCP port (required).
        listening: trigger when it listens (True, default) or when it does not (False).
        tree: count the process's descendants too, e.g. a server started by a shell
            script (default True).
        pid_file: read the pid from this file instead of the watch's.

    Example:
        ``with w.transition("start", "up") as on: on.condition("port_listening", port=8080)``
    """

    port = None
    listening = True
    tree = True
    pid_file = None
    required = ("port",)

    def valid(self) -> list[str]:
        """A port number."""
        problems = super().valid()
        if self.port is not None and (not isinstance(self.port, int) or not 0 < self.port < 65536):
            problems.append(f"{self.describe()}: port must be 1-65535, got {self.port!r}")
        return problems

    def test(self) -> bool:
        """Look for a listening TCP socket on the port among the process's sockets."""
        pid = self.watched_pid()
        if pid is None:
            self.info = "process is not running"
            return not self.listening
        found = self.port in listening_ports(pid, bool(self.tree))
        self.info = f"process {pid} {'listens' if found else 'does not listen'} on {self.port}"
        return found == bool(self.listening)
