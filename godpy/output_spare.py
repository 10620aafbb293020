"""The spare: a process that keeps a copy of every pipe's read end, and godpy's side of
it.

The copies are kept outside godpy, because every start forks godpy and the fork copies
its table of descriptors (two more per watch cost 0.5 ms of every restart at 1,000
watches), and outside the keeper, whose death must not leave the pipes without a reader
(the programs would die of SIGPIPE): a new keeper gets the spare's copies. It serves one
godpy (a socketpair) and ends with it.
"""

from __future__ import annotations

import os
import socket
import threading

from godpy.output_wire import MAX_FDS, close_all, receive, send


def hold(conn: socket.socket) -> None:
    """The spare's loop. Messages: ``keep`` (fds, with their ``keys``), ``drop``
    (``keys``), ``give`` (copies of every kept fd come back, in messages of up to
    ``MAX_FDS``, then ``{"op": "given"}``).
    """
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
            for key, fd in zip(message["keys"], fds, strict=False):
                old = kept.pop(key, None)
                if old is not None:
                    os.close(old)
                kept[key] = fd
        elif op == "drop":
            close_all([kept.pop(key) for key in message["keys"] if key in kept])
        elif op == "give":
            items = list(kept.items())
            for start in range(0, len(items), MAX_FDS):
                part = items[start : start + MAX_FDS]
                send(conn, {"op": "kept", "keys": [k for k, _ in part]}, [fd for _, fd in part])
            send(conn, {"op": "given"})


def _keys(name: str) -> list[str]:
    return [f"{name}\0out", f"{name}\0err"]


class Spare:
    """godpy's side of the spare (any thread: one lock)."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._lock = threading.Lock()

    def keep(self, name: str, readers) -> bool:
        """Hand it a copy of watch ``name``'s two read ends; False if it is gone."""
        with self._lock:
            try:
                send(self._sock, {"op": "keep", "keys": _keys(name)}, readers)
                return True
            except OSError:
                return False

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
