"""socket_responding: a TCP or Unix socket accepts connections (or not)."""

import socket

from godpy.condition import PollCondition


class SocketResponding(PollCondition):
    """True when connecting to the socket succeeds or fails, as ``responding`` says.

    By default (``responding=False``) it triggers when the socket does NOT accept a
    connection: "restart when the port stops answering". Each check opens a connection
    and closes it at once; connecting waits at most ``timeout``.

    Attributes:
        family: "tcp" (default) or "unix".
        addr: TCP host or address (default "127.0.0.1").
        port: TCP port (required for tcp).
        path: the socket file (required for unix).
        socket: God's shorthand, "tcp:PORT", "tcp:ADDR:PORT" or "unix:/path".
        responding: trigger when it responds (True) or when it does not (False, default).
        timeout: seconds to wait for the connection (default 5).
        times: true ``x`` times in the last ``y`` checks (default 1).

    Example:
        ``on.condition("socket_responding", socket="tcp:6379", times=(2, 3), timeout=1)``
    """

    family = "tcp"
    addr = "127.0.0.1"
    port = None
    path = None
    socket = None
    responding = False
    timeout = 5.0
    units = {**PollCondition.units, "timeout": "seconds"}

    def prepare(self) -> None:
        """Spread the ``socket`` shorthand over family/addr/port/path."""
        super().prepare()
        if isinstance(self.socket, str):
            family, _, rest = self.socket.partition(":")
            self.family = family
            if family == "unix":
                self.path = rest
            elif family == "tcp":
                addr, _, port = rest.rpartition(":")
                self.addr = addr or self.addr
                self.port = int(port) if port.isdigit() else port

    def valid(self) -> list[str]:
        """A known family with its address; a positive timeout."""
        where = self.describe()
        problems = super().valid()
        if self.family == "tcp":
            if not isinstance(self.port, int) or not 0 < self.port < 65536:
                problems.append(f"{where}: tcp needs a port (1-65535), got {self.port!r}")
        elif self.family == "unix":
            if not self.path:
                problems.append(f"{where}: unix needs a path")
        else:
            problems.append(
                f"{where}: family must be 'tcp' or 'unix', got {self.family!r}"
                + (f" (from socket={self.socket!r})" if self.socket else "")
            )
        if not self.timeout or self.timeout <= 0:
            problems.append(f"{where}: timeout must be positive")
        return problems

    def test(self) -> bool:
        """Connect, then close at once."""
        where = self.path if self.family == "unix" else f"{self.addr}:{self.port}"
        try:
            self._connect()
        except OSError as exc:
            connected, why = False, f" ({exc.strerror or type(exc).__name__})"
        else:
            connected, why = True, ""
        hit = connected == bool(self.responding)
        state = "responding" if connected else "not responding"
        self.info = f"socket {self.family}:{where} {state}{why}"
        return hit

    def _connect(self) -> None:
        if self.family == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.path)
        else:
            socket.create_connection((self.addr, self.port), timeout=self.timeout).close()
