"""The notify socket: one datagram socket that every ``sd_notify`` watch's program talks
to, as systemd's ``NOTIFY_SOCKET``.

It is an abstract Unix socket (``@godpy-notify-<hash>``): it has no file, so a program
running as another user, or in a chroot, reaches it where a socket file in godpy's 0700
folder could not be. Anyone on the machine may send to it, so nothing is taken on the
sender's word: the kernel attaches each datagram's sender pid and uid (SO_PASSCRED), and
a datagram is handed to a watch only when that pid is the watch's process or in the
process group godpy made for it, and the watch's driver checks that again with the uid.

Its one thread only reads and sends each datagram to the watch's driver as a message.
"""

from __future__ import annotations

import array
import hashlib
import os
import socket
import struct
import threading

from godpy.log import get_logger
from godpy.readiness import DATAGRAM_MAX

_UCRED = struct.Struct("iII")  # pid, uid, gid
_ANCILLARY = socket.CMSG_SPACE(_UCRED.size) + socket.CMSG_SPACE(64 * 4)


def address_for(control_socket: str | None) -> str:
    """``@godpy-notify-<hash>``: named after the control socket, so that a godpy started
    again on it (re-adopting running programs) listens where they still send; without a
    control socket, after this process."""
    seed = os.path.realpath(control_socket) if control_socket else f"pid {os.getpid()}"
    return "@godpy-notify-" + hashlib.sha256(seed.encode()).hexdigest()[:16]


class NotifySocket:
    """The socket and its reader thread.

    Args:
        address: ``@name`` (see :func:`address_for`).
    """

    def __init__(self, address: str):
        self.address = address
        self._sock: socket.socket | None = None
        self._watches: tuple = ()  # replaced whole (the main loop), read by the reader
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = False

    def start(self) -> None:
        """Bind and start reading.

        Raises:
            OSError: the name is taken (another godpy on the same control socket, or a
                squatter) or sockets fail.
        """
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            sock.bind(b"\0" + os.fsencode(self.address[1:]))
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._thread = threading.Thread(target=self._run, name="notify-socket", daemon=True)
        self._thread.start()

    def add(self, watch) -> None:
        """Hand ``watch`` the datagrams of its processes from now on (main loop)."""
        with self._lock:
            self._watches = (*(w for w in self._watches if w.name != watch.name), watch)

    def discard(self, watch) -> None:
        """Forget ``watch`` (main loop)."""
        with self._lock:
            self._watches = tuple(w for w in self._watches if w is not watch)

    def _run(self) -> None:
        sock = self._sock
        while not self._closing:
            try:
                data, ancillary, flags, _ = sock.recvmsg(
                    DATAGRAM_MAX, _ANCILLARY, socket.MSG_CMSG_CLOEXEC
                )
            except OSError:
                if self._closing:
                    return
                continue
            creds = _credentials(ancillary)
            if creds is None or flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                continue  # no sender, or more than any message godpy reads
            self._deliver(*creds, data)

    def _deliver(self, pid: int, uid: int, data: bytes) -> None:
        try:
            group = os.getpgid(pid)
        except OSError:
            group = None  # gone already: only its pid can still say who it was
        for watch in self._watches:
            if watch.process is not None and watch.process.claims(pid, group):
                if watch.driver is not None:
                    watch.driver.message("notified", pid, uid, data)
                return
        get_logger().debug("sd_notify: ignored a message from pid %d (uid %d)", pid, uid)

    def stop(self) -> None:
        """Stop reading and close the socket."""
        self._closing = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            if self._thread is not None:
                self._thread.join(2)
            self._sock.close()
            self._sock = None


def _credentials(ancillary) -> tuple[int, int] | None:
    """(pid, uid) from SCM_CREDENTIALS; file descriptors a sender passed are closed."""
    found = None
    for level, kind, payload in ancillary:
        if level != socket.SOL_SOCKET:
            continue
        if kind == socket.SCM_CREDENTIALS and len(payload) >= _UCRED.size:
            pid, uid, _gid = _UCRED.unpack_from(payload)
            found = (pid, uid)
        elif kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    return found
