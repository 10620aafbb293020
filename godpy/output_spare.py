"""The spare: a process that keeps a copy of every pipe end godpy does not keep itself,
and godpy's side of it.

Every start forks godpy, and the fork copies its table of descriptors: at 1,000 watches
the two write ends a watch held cost about 0.45 ms of every restart. So the spare keeps
both ends of each watch's two pipes, and godpy borrows the write ends only around a
start (``pidfd_getfd``, on a pidfd of the spare taken when it was started: no pid reuse
can lend godpy another process's descriptors). The read ends are kept outside the
keeper too, whose death must not leave the pipes without a reader (the programs would
die of SIGPIPE): a new keeper gets the spare's copies. It serves one godpy (a
socketpair) and ends with it.

Where borrowing is not allowed (a seccomp filter, ptrace_scope 3) godpy keeps the write
ends itself, as before.
"""

from __future__ import annotations

import ctypes
import os
import resource
import socket
import threading

from godpy.output_wire import MAX_FDS, close_all, receive, send

#: The pipe ends of a watch, in the order ``keep`` takes them; the last two are lent.
_STREAMS = ("out", "err", "out_w", "err_w")
_READERS = ("out", "err")
#: pidfd_getfd(2) (Linux 5.6): the same number on every architecture.
_SYS_PIDFD_GETFD = 438


#: The spare keeps each pipe end at a number godpy chose (``slot``), from here up: godpy
#: knows where to borrow from without waiting for an answer. A descriptor the spare
#: receives takes the lowest free number, far below.
FIRST_SLOT = 64


def hold(conn: socket.socket) -> None:
    """The spare's loop. Messages: ``keep`` (fds, with their ``keys`` and the ``slots``
    to keep them at), ``drop`` (``keys``), ``give`` (copies of every kept read end come
    back, in messages of up to ``MAX_FDS``, then ``{"op": "given"}``).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:  # four ends a watch, at numbers from FIRST_SLOT: the most it may
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass  # a slot it cannot reach stays unused: godpy keeps those write ends
    kept: dict[str, int] = {}
    while True:
        try:
            got = receive(conn)
        except (OSError, ValueError):
            got = None
        if got is None:
            return
        message, fds = got
        op = message.get("op")
        if op == "keep":
            slots = message.get("slots") or [None] * len(fds)
            for key, fd, slot in zip(message["keys"], fds, slots, strict=False):
                old = kept.pop(key, None)
                if old is not None and old != slot:
                    os.close(old)
                kept[key] = _place(fd, slot)
        elif op == "drop":
            close_all([kept.pop(key) for key in message["keys"] if key in kept])
        elif op == "give":
            items = [(k, fd) for k, fd in kept.items() if k.rpartition("\0")[2] in _READERS]
            for start in range(0, len(items), MAX_FDS):
                part = items[start : start + MAX_FDS]
                send(conn, {"op": "kept", "keys": [k for k, _ in part]}, [fd for _, fd in part])
            send(conn, {"op": "given"})


def _place(fd: int, slot: int | None) -> int:
    """``fd``, moved to number ``slot`` (where it stays where it is if it cannot: godpy
    finds another pipe there, or none, and keeps its own write ends)."""
    if slot is None or slot == fd or slot < FIRST_SLOT:
        return fd
    try:
        os.dup2(fd, slot, inheritable=False)
    except OSError:  # beyond the open files limit
        return fd
    os.close(fd)
    return slot


def _keys(name: str) -> list[str]:
    return [f"{name}\0{stream}" for stream in _STREAMS]


class Spare:
    """godpy's side of the spare (any thread: one lock).

    Args:
        sock: godpy's end of the socketpair.
        pid: the spare's pid (its child, not reaped yet): a pidfd of it is taken at once.
    """

    def __init__(self, sock: socket.socket, pid: int | None = None):
        self._sock = sock
        self._lock = threading.Lock()
        self._pidfd: int | None = None
        self._places: dict[str, int] = {}  # watch -> its four slots' place
        if pid is not None:
            try:
                self._pidfd = os.pidfd_open(pid)
            except OSError:
                pass
        #: True while write ends may be lent (False: godpy keeps them).
        self.lends = self._pidfd is not None

    def keep(self, name: str, readers, writers=()) -> bool:
        """Hand it watch ``name``'s two read ends, and its two write ends when it lends
        them (to borrow at ``lent_at(name)``); False if it is gone."""
        message = {"op": "keep", "keys": _keys(name)[:2]}
        fds = list(readers)
        if self.lends and writers:
            message.update(keys=_keys(name), slots=self._slots(name))
            fds += writers
        with self._lock:
            try:
                send(self._sock, message, fds)
                return True
            except OSError:
                return False

    def _slots(self, name: str) -> list[int]:
        """The four numbers the spare keeps ``name``'s pipe ends at (one place a
        watch, for good: a watch loaded again takes its own place again)."""
        place = self._places.setdefault(name, len(self._places))
        return [FIRST_SLOT + 4 * place + i for i in range(4)]

    def lent_at(self, name: str) -> tuple[int, int] | None:
        """Where the spare keeps ``name``'s write ends, while it lends them."""
        if not self.lends or name not in self._places:
            return None
        _out, _err, out_w, err_w = self._slots(name)
        return out_w, err_w

    def borrow(self, where) -> list[int]:
        """Copies of the descriptors at ``where`` in the spare (the caller closes them).

        Raises:
            OSError: the spare is gone, or may not be borrowed from, or has nothing there.
        """
        if self._pidfd is None:
            raise OSError("the spare is gone")
        got: list[int] = []
        try:
            for fd in where:
                got.append(_getfd(self._pidfd, fd))
        except OSError:
            close_all(got)
            raise
        return got

    def drop(self, name: str) -> None:
        """Watch ``name`` has left the config."""
        with self._lock:
            try:
                send(self._sock, {"op": "drop", "keys": _keys(name)})
            except OSError:
                pass

    def copies(self) -> dict[str, list]:
        """watch -> [out, err]: fresh copies of the kept read ends (the caller closes
        them).

        Raises:
            OSError, ValueError: the spare did not answer as it should.
        """
        found: dict[str, list] = {}
        with self._lock:
            send(self._sock, {"op": "give"})
            while (got := receive(self._sock)) is not None:
                message, fds = got
                if message.get("op") == "given":
                    break
                for key, fd in zip(message.get("keys", ()), fds, strict=False):
                    name, _, stream = key.partition("\0")
                    found.setdefault(name, [None, None])[stream == "err"] = fd
        return found

    def close(self) -> None:
        self._sock.close()  # it ends when its socket does
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


# PyDLL: the call keeps the GIL (it never blocks); each release and retake of the GIL
# was a turn for another thread in the middle of a start.
_libc = ctypes.PyDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _getfd(pidfd: int, fd: int) -> int:
    """pidfd_getfd(2): a copy (close-on-exec) of descriptor ``fd`` of the process."""
    got = _libc.syscall(ctypes.c_long(_SYS_PIDFD_GETFD), pidfd, fd, 0)
    if got < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return got
