"""socket_responding: a TCP or Unix socket accepts connections (or not)."""

from __future__ import annotations

import socket
import time

from godpy.condition import PollCondition


class SocketResponding(PollCondition):
    """True when connecting to the socket succeeds or fails, as ``responding`` says.

    By default (``responding=False``) it triggers when the socket does NOT accept a
    connection: "restart when the port stops answering". Each check opens a connection
    and closes it at once; connecting waits at most ``timeout``.

    A connect alone cannot see a frozen server: the kernel completes connections into
    its backlog even while the process is stopped. With ``expect``, the socket responds
    only when, after ``send`` is written, the reply starts with ``expect`` within
    ``timeout``: ``send="PING\\r\\n", expect="+PONG"`` catches a frozen redis.

    Attributes:
        family: "tcp" (default) or "unix".
        addr: TCP host or address (default "127.0.0.1").
        port: TCP port (required for tcp).
        path: the socket file (required for unix).
        socket: God's shorthand, "tcp:PORT", "tcp:ADDR:PORT" or "unix:/path".
        responding: trigger when it responds (True) or when it does not (False, default).
        send: text or bytes written once connected (default: nothing).
        expect: the reply must start with this text or bytes (default: connecting is
            enough).
        timeout: seconds the whole check may take: connect, send, reply (default 5).
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
    send = None
    expect = None
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
        for name in ("send", "expect"):
            if getattr(self, name) is not None and not isinstance(
                getattr(self, name), (str, bytes)
            ):
                problems.append(f"{where}: {name} must be text or bytes")
        if self.expect is not None and not self.expect:
            problems.append(f"{where}: expect must not be empty")
        return problems

    def test(self) -> bool:
        """Connect (and with ``expect``, converse), then close."""
        where = self.path if self.family == "unix" else f"{self.addr}:{self.port}"
        try:
            self._converse()
        except (OSError, _Mismatch) as exc:
            connected = False
            why = f" ({exc})" if isinstance(exc, _Mismatch) else f" ({_why(exc)})"
        else:
            connected, why = True, ""
        hit = connected == bool(self.responding)
        state = "responding" if connected else "not responding"
        self.info = f"socket {self.family}:{where} {state}{why}"
        return hit

    def _converse(self) -> None:
        deadline = time.monotonic() + self.timeout
        with self._connect() as sock:
            if self.send:
                sock.settimeout(_left(deadline))
                sock.sendall(_bytes(self.send))
            if self.expect:
                self._read_expected(sock, _bytes(self.expect), deadline)

    def _connect(self) -> socket.socket:
        if self.family == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.connect(self.path)
            except BaseException:
                sock.close()
                raise
            return sock
        return socket.create_connection((self.addr, self.port), timeout=self.timeout)

    @staticmethod
    def _read_expected(sock: socket.socket, expect: bytes, deadline: float) -> None:
        got = b""
        while len(got) < len(expect):
            sock.settimeout(_left(deadline))
            chunk = sock.recv(len(expect) - len(got))
            if not chunk:
                break
            got += chunk
        if not got.startswith(expect):
            raise _Mismatch(f"expected {expect[:40]!r}, got {got[:40]!r}")


class _Mismatch(Exception):
    """The reply did not start with ``expect``."""


def _bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


def _why(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return "timed out"
    return exc.strerror or type(exc).__name__
