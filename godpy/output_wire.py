"""The wire between godpy, its output keeper and the spare: messages of a 4-byte length
then JSON, on a Unix stream socket; file descriptors ride on a message's first byte
(SCM_RIGHTS). Standard library only (the keeper and the spare import it)."""

from __future__ import annotations

import json
import os
import socket
import struct

_HEADER = struct.Struct("!I")
_MAX_MESSAGE = 1 << 20
#: Descriptors one message carries at most (SCM_RIGHTS takes up to 253).
MAX_FDS = 250


def send(sock: socket.socket, message: dict, fds=()) -> None:
    """Send one message (and ``fds``) on a connected stream socket."""
    body = json.dumps(message, separators=(",", ":")).encode()
    data = _HEADER.pack(len(body)) + body
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.sendall(data)


def receive(sock: socket.socket) -> tuple[dict, list[int]] | None:
    """One message and the fds that came with it; None at EOF.

    Raises:
        ValueError: a malformed message.
    """
    head, fds = b"", []
    while len(head) < _HEADER.size:
        data, more, _flags, _addr = socket.recv_fds(sock, _HEADER.size - len(head), MAX_FDS)
        fds += more
        if not data:
            close_all(fds)
            return None
        head += data
    (size,) = _HEADER.unpack(head)
    if size > _MAX_MESSAGE:
        close_all(fds)
        raise ValueError(f"message of {size} bytes")
    body = bytearray()
    while len(body) < size:
        data = sock.recv(size - len(body))
        if not data:
            close_all(fds)
            return None
        body += data
    return json.loads(body), fds


def close_all(fds) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
