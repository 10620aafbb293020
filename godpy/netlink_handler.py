"""Netlink proc-connector backend: the one module that imports pyroute2.

One thread owns the socket: it is created, bound and read in that thread. pyroute2's
``ProcEventSocket`` creates, binds and subscribes the socket; the datagrams are then read
straight from its file descriptor and the exit events decoded here, because pyroute2
0.9's ``get()`` buffers messages in an asyncio queue behind ``select()``'s back (an exit
could sit there unseen until the next event arrived).
"""

from __future__ import annotations

import errno
import functools
import importlib.util
import os
import select
import socket
import struct
import sys
import threading
import time

from godpy.log import get_logger

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
RECEIVE_BUFFER = 8 * 1024 * 1024
PROC_EVENT_EXIT = 0x80000000
# nlmsghdr (len, type, flags, seq, pid) + cn_msg (idx, val, seq, ack, len, flags)
_HEADERS = struct.Struct("=IHHII IIIIHH")
# proc_event (what, cpu, timestamp_ns) + exit_proc_event (pid, tgid, exit_code, exit_signal)
_EXIT = struct.Struct("=IIQ IIII")


def parse_exits(data: bytes):
    """Yield (pid, tgid, wait_status) for each process-exit event in a datagram."""
    offset = 0
    while offset + _HEADERS.size <= len(data):
        length = _HEADERS.unpack_from(data, offset)[0]
        body = offset + _HEADERS.size
        if length < _HEADERS.size or body + _EXIT.size > len(data):
            break
        what, _cpu, _ts, pid, tgid, status, _sig = _EXIT.unpack_from(data, body)
        if what == PROC_EVENT_EXIT:
            yield pid, tgid, status
        offset += (length + 3) & ~3


def exit_filter() -> list[tuple[int, int, int, int]]:
    """A classic BPF program that lets through only the exit of a process (pid ==
    tgid): forks, execs, uid changes and thread exits of the whole machine are dropped
    by the kernel instead of waking godpy. In a burst of restarts they were four of every
    five datagrams, each one a trip through the GIL for the netlink thread; on a machine
    running threaded services, thread exits are most of the stream.

    Loads are big-endian: the host-order fields compare with ``htonl`` of the value.
    """
    what = _HEADERS.size  # proc_event.what, after nlmsghdr and cn_msg
    pid = what + 16  # exit_proc_event.process_pid, after what, cpu and timestamp_ns
    ld, st, ldx, jeq_k, jeq_x, ret = 0x20, 0x02, 0x61, 0x15, 0x1D, 0x06
    return [
        (ld, 0, 0, what),
        (jeq_k, 0, 6, socket.htonl(PROC_EVENT_EXIT)),
        (ld, 0, 0, pid),
        (st, 0, 0, 0),
        (ld, 0, 0, pid + 4),  # process_tgid
        (ldx, 0, 0, 0),
        (jeq_x, 0, 1, 0),
        (ret, 0, 0, 0xFFFFFFFF),
        (ret, 0, 0, 0),
    ]


def attach_exit_filter(sock) -> None:
    """Attach ``exit_filter`` to ``sock`` (SO_ATTACH_FILTER).

    Raises:
        OSError: the kernel refused it.
    """
    import ctypes

    class Instruction(ctypes.Structure):
        _fields_ = [
            ("code", ctypes.c_ushort),
            ("jt", ctypes.c_ubyte),
            ("jf", ctypes.c_ubyte),
            ("k", ctypes.c_uint32),
        ]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]

    code = exit_filter()
    instructions = (Instruction * len(code))(*(Instruction(*i) for i in code))
    program = Program(len(code), instructions)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(program))


SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
#: Datagrams read in one go at most (the rest wait for the next turn).
BATCH = 1024


def receiver(raw: socket.socket):
    """A function that reads every datagram waiting on ``raw`` without blocking:
    ``(datagrams, overflowed)``; ``overflowed`` when the kernel dropped some (ENOBUFS).

    The reads keep the GIL: ``recv`` through ``ctypes.PyDLL``. Python's own ``recv``
    lets go of the GIL for each datagram, and when 200 programs die at once, 200 busy
    drivers make the netlink thread wait for it again every time: their exits reached
    them over half a second. Reading the whole queue in one turn hands every exit out
    at once (the reads are non-blocking, so holding the GIL costs nothing).
    """
    import ctypes

    recv = ctypes.PyDLL(None, use_errno=True).recv
    recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    recv.restype = ctypes.c_ssize_t
    fd, buffer, size = raw.fileno(), ctypes.create_string_buffer(65536), 65536
    dontwait = getattr(socket, "MSG_DONTWAIT", 0x40)

    def every() -> tuple[list[bytes], bool]:
        batch, overflowed = [], False
        while len(batch) < BATCH:
            got = recv(fd, buffer, size, dontwait)
            if got >= 0:
                batch.append(buffer.raw[:got])
                continue
            code = ctypes.get_errno()
            if code == errno.ENOBUFS:
                overflowed = True
            elif code == errno.EINTR:
                continue
            elif code in (errno.EAGAIN, errno.EWOULDBLOCK):
                break
            elif batch or overflowed:
                break  # hand out what came; the error shows again on the next turn
            else:
                raise OSError(code, os.strerror(code))
        return batch, overflowed

    return every


@functools.cache
def proc_event_socket_class() -> type:
    """pyroute2's ``ProcEventSocket``, imported without the rest of pyroute2.

    ``import pyroute2`` runs the package's ``__init__``, which imports every part of the
    library (IPRoute, NDB, IPDB, conntrack, WireGuard...): 0.27 s and 10 MiB of the daemon's
    memory here, for one class. While pyroute2 is not imported yet, its package is entered
    as a bare module over the same folder (``__init__`` not run), then only the connector
    module is imported. Should that fail (another pyroute2 layout), the package is imported
    the ordinary way.
    """
    if "pyroute2" not in sys.modules:
        spec = importlib.util.find_spec("pyroute2")
        if spec is not None and spec.submodule_search_locations is not None:
            sys.modules["pyroute2"] = importlib.util.module_from_spec(spec)
            try:
                from pyroute2.netlink.connector.cn_proc import ProcEventSocket

                return ProcEventSocket
            except Exception:
                for name in [n for n in sys.modules if n.partition(".")[0] == "pyroute2"]:
                    del sys.modules[name]
    from pyroute2 import ProcEventSocket

    return ProcEventSocket


class NetlinkHandler:
    """Read process-exit events from the kernel and hand them to ``on_exit(pid, payload)``.

    Args:
        on_exit: called on this backend's thread for each exited process (not thread).
        on_overflow: called when the kernel dropped events (ENOBUFS).
        buffer_size: receive buffer to ask for, in bytes.
    """

    name = "netlink"

    def __init__(self, on_exit, on_overflow, buffer_size: int = RECEIVE_BUFFER):
        self._on_exit = on_exit
        self._on_overflow = on_overflow
        self._buffer_size = buffer_size
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self.overflows = 0

    def start(self, timeout: float = 5.0) -> None:
        """Start the thread and wait until it listens.

        Raises:
            OSError: netlink could not be opened (not root, no CONFIG_PROC_EVENTS).
        """
        self._thread = threading.Thread(target=self._run, name="netlink", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise OSError("netlink handler did not start in time")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Wake the thread and join it."""
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(5.0)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _open(self):
        sock = proc_event_socket_class()()
        try:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, self._buffer_size)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._buffer_size)
            sock.bind()
            sock.control(listen=True)
        except BaseException:
            sock.close()
            raise
        try:
            attach_exit_filter(sock)
        except OSError as exc:  # every event then reaches us, and parse_exits sorts them
            get_logger().debug("netlink: no socket filter (%s)", exc)
        return sock

    def _run(self) -> None:
        try:
            sock = self._open()
        except BaseException as exc:  # reported to start(), which falls back to polling
            self._error = exc if isinstance(exc, OSError) else OSError(str(exc))
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop(sock)
        finally:
            sock.close()

    def _loop(self, sock) -> None:
        raw = socket.socket(fileno=os.dup(sock.fileno()))
        try:
            self._serve(raw)
        finally:
            raw.close()

    def _serve(self, raw: socket.socket) -> None:
        fds = [raw.fileno(), self._wake_r]
        drain = receiver(raw)
        while True:
            readable, _, _ = select.select(fds, [], [])
            if self._wake_r in readable:
                return
            try:
                batch, overflowed = drain()
            except OSError as exc:
                get_logger().error("netlink: receive failed: %s", exc)
                time.sleep(0.1)
                continue
            if overflowed:
                self.overflows += 1
                get_logger().warning(
                    "netlink: events were lost (socket overflow); re-checking every watch"
                )
                self._on_overflow()
            for data in batch:
                for pid, tgid, status in parse_exits(data):
                    if pid == tgid:  # a process, not one of its threads
                        self._exit(pid, status)

    def _exit(self, pid: int, status: int) -> None:
        try:
            self._on_exit(pid, {"pid": pid, "status": status})
        except Exception:
            get_logger().exception("netlink: exit callback for pid %s failed", pid)
