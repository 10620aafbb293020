"""Listener: the control socket's connection loop, bounded so that no peer can wedge it.

One thread accepts connections and reads them; a fixed pool of worker threads runs each
complete message. What a peer can cost:

- A peer whose uid (SO_PEERCRED) is not allowed is closed at accept, before a byte it
  sent is read: a refusal costs a close (and a log line at most every ``refusal_log``
  seconds).
- At most ``max_connections`` connections are open; a new one evicts the one idle the
  longest. A connection idle for ``idle_timeout`` is closed, and so is one whose message
  has not arrived whole within ``message_timeout`` of its first byte, or whose reader
  does not take a reply within that time.
- A message longer than ``max_message`` is refused from its header (the connection is
  closed without reading the rest).
- An error in a worker or in the loop itself is logged with its traceback and the loop
  goes on. Idle connections hold no thread, only a file descriptor.
"""

from __future__ import annotations

import errno
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from godpy.log import get_logger
from godpy.socket_file import peer_uid

_ACCEPT, _WAKE = object(), object()
#: Connections accepted per turn of the loop, so that a flood cannot starve the readers.
_ACCEPT_BURST = 64


@dataclass(frozen=True)
class Limits:
    """What one peer may take from the control socket.

    Attributes:
        max_connections: open connections at once (the longest idle is evicted for a new one).
        workers: threads running commands; more waiting messages queue for them.
        idle_timeout: seconds a connection may wait between messages.
        message_timeout: seconds a message may take to arrive whole, or a reply to be taken.
        max_message: bytes in one message, header included.
        refusal_log: seconds between two log lines about refused peers.
    """

    max_connections: int = 64
    workers: int = 16
    idle_timeout: float = 10.0
    message_timeout: float = 10.0
    max_message: int = 1 << 20
    refusal_log: float = 10.0


class _Connection:
    """One accepted peer: its socket, the bytes of its next message, and its clocks."""

    __slots__ = ("sock", "uid", "buffer", "since", "first_byte", "busy", "session")

    def __init__(self, sock: socket.socket, uid: int, now: float):
        self.sock, self.uid, self.since = sock, uid, now
        self.buffer = bytearray()
        self.first_byte = now
        self.busy = False
        self.session: dict = {}


class Listener:
    """Serve framed messages on a listening Unix socket with bounded costs.

    Args:
        sock: a bound, listening socket; the listener closes it when it stops.
        allowed: the peer uids served; every other peer is closed at accept.
        frame: ``frame(buffer)`` returns the whole message's length once the header is in
            ``buffer`` (None before); raises ValueError on bytes that are no message.
        handle: ``handle(session, message)`` returns ``(reply or None, keep_open)``; it
            runs in a worker thread; ``session`` is a dict kept per connection.
        on_refused: called with the uid of a refused peer (at most every ``refusal_log`` s).
        limits: the bounds.
    """

    def __init__(
        self,
        sock: socket.socket,
        allowed: Collection[int],
        frame: Callable[[bytes], int | None],
        handle: Callable[[dict, bytes], tuple[bytes | None, bool]],
        on_refused: Callable[[int], None] = lambda uid: None,
        limits: Limits = Limits(),  # noqa: B008 (frozen)
    ):
        self.limits = limits
        self._sock, self._allowed = sock, allowed  # a set, or socket_file.Admitted
        self._frame, self._handle, self._on_refused = frame, handle, on_refused
        self._conns: set[_Connection] = set()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        self._refusals, self._next_refusal_log = 0, 0.0
        self._grace = 0.0

    # -- life ----------------------------------------------------------------------------
    def start(self) -> None:
        """Serve in a thread (the loop) plus ``limits.workers`` worker threads."""
        self._sock.setblocking(False)
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)
        self._selector.register(self._sock, selectors.EVENT_READ, _ACCEPT)
        self._selector.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        for n in range(self.limits.workers):
            threading.Thread(target=self._work, name=f"control-{n}", daemon=True).start()
        self._thread = threading.Thread(target=self._loop, name="control", daemon=True)
        self._thread.start()

    def stop(self, grace: float = 2.0) -> None:
        """Stop accepting; give running commands ``grace`` seconds to answer; close all."""
        self._grace = grace
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(grace + 5.0)

    @property
    def connections(self) -> int:
        """How many connections are open (a reading for tests and logs)."""
        return len(self._conns)

    # -- the loop (one thread) -----------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._turn(self._tick())
            except Exception:  # the loop must not die; a persistent error must not spin
                get_logger().exception("control socket: error in the connection loop")
                self._stopping.wait(0.1)
        self._wind_down()

    def _tick(self) -> float:
        return min(1.0, self.limits.idle_timeout / 4, self.limits.message_timeout / 4)

    def _turn(self, timeout: float) -> None:
        for key, _ in self._selector.select(timeout):
            if key.data is _ACCEPT:
                self._accept()
            elif key.data is _WAKE:
                self._drain_wake()
            else:
                self._guarded(self._read, key.data)
        self._take_back()
        self._expire()

    def _guarded(self, step, conn: _Connection) -> None:
        """Run ``step(conn)``; an error closes that connection only, with a log line."""
        try:
            step(conn)
        except Exception:
            get_logger().exception("control socket: error on a connection (closed it)")
            self._close(conn)

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BURST):
            try:
                sock, _ = self._sock.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # EMFILE and the like: make room, and do not spin
                get_logger().warning("control socket: accept failed: %s", exc)
                if exc.errno in (errno.EMFILE, errno.ENFILE) and not self._evict_idlest():
                    self._stopping.wait(0.1)
                return
            self._admit(sock)

    def _admit(self, sock: socket.socket) -> None:
        """Check the peer's uid before reading anything; then make room and register it."""
        try:
            uid = peer_uid(sock)
        except OSError:
            sock.close()
            return
        if uid not in self._allowed:
            sock.close()
            self._refused(uid)
            return
        if len(self._conns) >= self.limits.max_connections and not self._evict_idlest():
            sock.close()
            get_logger().warning("control socket: every connection is busy; closed a new one")
            return
        sock.setblocking(False)
        conn = _Connection(sock, uid, time.monotonic())
        self._conns.add(conn)
        self._selector.register(sock, selectors.EVENT_READ, conn)

    def _refused(self, uid: int) -> None:
        self._refusals += 1
        now = time.monotonic()
        if now < self._next_refusal_log:
            return
        self._next_refusal_log = now + self.limits.refusal_log
        if self._refusals > 1:
            get_logger().warning(
                "control socket: %d refused connections since the last report", self._refusals
            )
        self._refusals = 0
        self._on_refused(uid)

    def _read(self, conn: _Connection) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close(conn)
            return
        if not conn.buffer:
            conn.first_byte = time.monotonic()
        conn.buffer += chunk
        self._dispatch(conn)

    def _dispatch(self, conn: _Connection) -> None:
        """Hand the first message in ``conn.buffer`` to a worker once it is whole."""
        try:
            size = self._frame(bytes(conn.buffer[:64]))
            if size is not None and size > self.limits.max_message:
                raise ValueError(f"message of {size} bytes (at most {self.limits.max_message})")
        except ValueError as exc:
            get_logger().warning("control socket: closed a connection (uid %d): %s", conn.uid, exc)
            self._close(conn)
            return
        if size is None or len(conn.buffer) < size:
            return
        message = bytes(conn.buffer[:size])
        del conn.buffer[:size]
        conn.busy = True
        self._selector.unregister(conn.sock)
        self._jobs.put((conn, message))

    def _take_back(self) -> None:
        """Connections whose reply went out: serve their next message, or close them."""
        while True:
            try:
                conn, keep = self._done.get_nowait()
            except queue.Empty:
                return
            conn.busy = False
            if not keep or self._stopping.is_set():
                self._close(conn)
                continue
            conn.since = conn.first_byte = time.monotonic()
            conn.sock.setblocking(False)
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)
            if conn.buffer:
                self._guarded(self._dispatch, conn)

    def _expire(self) -> None:
        now = time.monotonic()
        for conn in list(self._conns):
            if conn.busy:
                continue
            if conn.buffer and now - conn.first_byte > self.limits.message_timeout:
                get_logger().warning(
                    "control socket: closed a connection (uid %d) whose message took over %gs",
                    conn.uid,
                    self.limits.message_timeout,
                )
                self._close(conn)
            elif not conn.buffer and now - conn.since > self.limits.idle_timeout:
                self._close(conn)

    def _evict_idlest(self) -> bool:
        idle = [c for c in self._conns if not c.busy]
        if not idle:
            return False
        self._close(min(idle, key=lambda c: c.since))
        return True

    def _close(self, conn: _Connection) -> None:
        if not conn.busy:
            try:
                self._selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
        conn.sock.close()
        self._conns.discard(conn)

    def _wind_down(self) -> None:
        """Close the listening socket and idle peers; wait ``grace`` for running commands."""
        self._selector.unregister(self._sock)
        self._sock.close()
        deadline = time.monotonic() + self._grace
        while any(c.busy for c in self._conns) and time.monotonic() < deadline:
            self._selector.select(0.05)
            self._drain_wake()
            self._take_back()
        for conn in list(self._conns):
            conn.busy = False
            self._close(conn)
        for _ in range(self.limits.workers):
            self._jobs.put(None)
        self._selector.close()
        self._wake_r.close()

    # -- waking the loop -----------------------------------------------------------------
    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full (the loop will wake anyway) or already closed
            pass

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    # -- workers -------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            conn, message = job
            keep = False
            try:
                reply, keep = self._handle(conn.session, message)
                if reply:
                    self._send(conn.sock, reply)
            except OSError as exc:  # the peer went away, or did not take its reply in time
                get_logger().debug("control socket: reply not delivered: %s", exc)
                keep = False
            except Exception:
                get_logger().exception("control socket: a request failed (connection closed)")
                keep = False
            self._done.put((conn, keep))
            self._wake()

    def _send(self, sock: socket.socket, data: bytes) -> None:
        """Send all of ``data`` within ``message_timeout`` (a slow reader is dropped)."""
        deadline = time.monotonic() + self.limits.message_timeout
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the peer did not take its reply in time")
            sock.settimeout(left)
            view = view[sock.send(view) :]
