"""The output keeper: one process that drains every watched program's stdout and stderr.

godpy starts it (``output.OutputKeeper``) in its own session, and it outlives godpy:

- Each watch has two pipes, made once by godpy (not once per start). godpy keeps the
  write ends and gives them to each new process of the watch; the keeper gets the read
  ends over a Unix socket (``output_wire``). Output written across restarts, and across
  a kill -9 of godpy, lands in one place.
- It writes each stream to its log file, pipes it to a log command, and keeps the last
  256 KB of each in memory for ``godpy tail`` (``output_files``).
- When godpy dies, the keeper goes on draining: a program never blocks on a full pipe
  nor gets SIGPIPE. The next godpy connects to the keeper's socket and goes on. With no
  godpy connected and no pipe left open, the keeper exits.
- ``--hold`` runs the spare instead (``output_spare``).

It imports only the standard library and these stdlib-only godpy modules, so it starts
in a few tens of milliseconds; godpy runs it as a file, ``python3 -I -S
.../godpy/output_keeper.py`` (no environment, no site-packages), so that ``ps`` names it.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys
import time

if __name__ == "__main__":  # run as a file (python3 -I -S .../godpy/output_keeper.py)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from godpy.output_files import LINE_WAIT, WatchOutput  # noqa: E402
from godpy.output_spare import hold  # noqa: E402
from godpy.output_wire import close_all, receive, send  # noqa: E402
from godpy.socket_file import peer_uid  # noqa: E402

_READ = 65536  # bytes read from a pipe at a time


class Keeper:
    """The keeper's loop: the daemon's connection, the listener, and every pipe."""

    def __init__(self, listener: socket.socket | None, conn: socket.socket | None):
        self.selector = selectors.DefaultSelector()
        self.listener = listener
        self.conn: socket.socket | None = None
        self.watches: dict[str, WatchOutput] = {}
        self.pipes: dict[int, tuple[WatchOutput, str]] = {}
        #: the outputs holding a partial line (a shared file waits for its end): looked
        #: at after each turn, instead of every watch's (1,000 watches made each message
        #: and each chunk of output cost a scan of all of them)
        self.partial: set[WatchOutput] = set()
        self.running = True
        if listener is not None:
            self.selector.register(listener, selectors.EVENT_READ, "listen")
        if conn is not None:
            self._connect(conn)

    def _connect(self, conn: socket.socket) -> None:
        if self.conn is not None:
            self.selector.unregister(self.conn)
            self.conn.close()
        conn.setblocking(True)
        self.conn = conn
        self.selector.register(conn, selectors.EVENT_READ, "conn")

    def _drop_conn(self) -> None:
        if self.conn is not None:
            self.selector.unregister(self.conn)
            self.conn.close()
            self.conn = None

    def tell(self, message: dict) -> None:
        """Send to the daemon, if one is connected (a notice is lost without one)."""
        if self.conn is None:
            return
        try:
            send(self.conn, message)
        except OSError:
            self._drop_conn()

    def problems(self, watch: str, problems: list[str]) -> None:
        for text in problems:
            self.tell({"op": "problem", "watch": watch, "text": text})

    def run(self) -> None:
        while self.running:
            timeout = self._timeout()
            for key, _mask in self.selector.select(timeout):
                if key.data == "listen":
                    self._accept()
                elif key.data == "conn":
                    self._message()
                else:
                    self._drain(key.fd)
            now = time.monotonic()
            for output in list(self.partial):
                self.problems(output.name, output.flush_partial(now))
                if not any(output.pending_since.values()):
                    self.partial.discard(output)
            if self.conn is None and not self.pipes:
                break  # no daemon, no program: nothing left to keep
        for output in self.watches.values():
            output.close()
        if self.listener is not None:  # no later godpy should look for this keeper
            try:
                os.unlink(self.listener.getsockname())
            except (OSError, TypeError):
                pass

    def _timeout(self) -> float | None:
        pending = [since for w in self.partial for since in w.pending_since.values() if since]
        if pending:
            return max(0.0, min(pending) + LINE_WAIT - time.monotonic())
        return 5.0 if self.conn is None else None

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        if peer_uid(conn) != os.geteuid():  # only the daemon's own user may take over
            conn.close()
            return
        self._connect(conn)
        self.tell({"op": "hello", "watches": sorted(self.watches)})

    def _message(self) -> None:
        try:
            got = receive(self.conn)
        except (OSError, ValueError):
            got = None
        if got is None:
            self._drop_conn()
            return
        message, fds = got
        op = message.get("op")
        try:
            handler = getattr(self, f"op_{op}")
        except AttributeError:
            close_all(fds)
            self.tell({"op": "problem", "watch": None, "text": f"unknown message {op!r}"})
            return
        handler(message, fds)

    def op_attach(self, message: dict, fds: list[int]) -> None:
        """A watch's settings, and (when given) the read ends of its two pipes."""
        name = message["watch"]
        output = self.watches.get(name) or self.watches.setdefault(name, WatchOutput(name))
        output.detached = False
        problems = output.configure(message["settings"])
        if message.get("id") is not None:  # the daemon waits: a failed open fails the start
            self.tell({"op": "reply", "id": message["id"], "problems": problems})
        else:
            self.problems(name, problems)
        for fd, stream in zip(fds, ("out", "err"), strict=False):
            os.set_blocking(fd, False)
            self.pipes[fd] = (output, stream)
            output.pipes += 1
            self.selector.register(fd, selectors.EVENT_READ)

    def op_detach(self, message: dict, fds: list[int]) -> None:
        """The watch is gone from the config: drop its output once its pipes close."""
        output = self.watches.get(message["watch"])
        if output is not None:
            output.detached = True
            self._forget_if_done(output)

    def op_tail(self, message: dict, fds: list[int]) -> None:
        output = self.watches.get(message["watch"])
        reply = {"op": "reply", "id": message.get("id")}
        if output is None:
            reply.update(text="", cursor=0, skipped=0)
        else:
            ring = output.rings["err" if message.get("stream") == "err" else "out"]
            reply.update(ring.tail(message.get("lines", 10), message.get("since")))
        self.tell(reply)

    def op_reopen(self, message: dict, fds: list[int]) -> None:
        for output in self.watches.values():
            self.problems(output.name, output.reopen())

    def op_quit(self, message: dict, fds: list[int]) -> None:
        """godpy stops for good: take what is left in the pipes, then end."""
        for fd in list(self.pipes):
            self._drain(fd, until_empty=True)
        self.running = False

    def _drain(self, fd: int, until_empty: bool = False) -> None:
        output, stream = self.pipes[fd]
        while True:
            try:
                data = os.read(fd, _READ)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:  # every writer has closed it
                self.selector.unregister(fd)
                os.close(fd)
                del self.pipes[fd]
                output.pipes -= 1
                self._forget_if_done(output)
                return
            self.problems(output.name, output.take(stream, data, time.monotonic()))
            if any(output.pending_since.values()):
                self.partial.add(output)
            if not until_empty and len(data) < _READ:
                return

    def _forget_if_done(self, output: WatchOutput) -> None:
        if output.detached and output.pipes == 0:
            output.close()
            self.watches.pop(output.name, None)
            self.partial.discard(output)


def main(argv: list[str]) -> int:
    """``LISTEN_FD CONN_FD`` (-1 for none), or ``--hold CONN_FD``."""
    if argv[1] == "--hold":
        hold(socket.socket(fileno=int(argv[2])))
        return 0
    listen_fd, conn_fd = (int(a) for a in argv[1:3])
    listener = socket.socket(fileno=listen_fd) if listen_fd >= 0 else None
    conn = socket.socket(fileno=conn_fd) if conn_fd >= 0 else None
    Keeper(listener, conn).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
