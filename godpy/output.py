"""The daemon's side of output capture: the keeper process and each watch's pipes.

See ``output_keeper`` for the keeper itself. Here: starting it (or finding the one an
earlier godpy left running), a connection with a reader thread, and one ``Channel`` per
watch that makes the watch's two pipes the first time its program starts.

Threads: a watch's ``Channel`` is used by that watch's driver only; ``tail`` by control
threads; the reader thread only resolves replies and logs the keeper's problems. Sends go
through one lock.
"""

from __future__ import annotations

import errno
import itertools
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future

from godpy.log import get_logger
from godpy.output_spare import Spare
from godpy.output_wire import close_all, receive, send
from godpy.socket_file import peer_uid

#: The longest path a Unix socket can have (sun_path, with its terminating NUL).
_SUN_PATH = 107
#: The keeper and the spare run this file in an isolated interpreter (-I -S: no
#: environment, no site-packages).
_KEEPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output_keeper.py")


def keeper_path(socket_path: str | None) -> str | None:
    """Where the keeper listens for the next godpy: next to the control socket."""
    if not socket_path:
        return None
    path = f"{socket_path}.output"
    return path if len(os.fsencode(path)) <= _SUN_PATH else None


class OutputKeeper:
    """The output keeper, seen from the daemon.

    Args:
        path: the keeper's socket (None: no later godpy can find it).
    """

    def __init__(self, path: str | None):
        self.path = path
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._popen: subprocess.Popen | None = None
        self._ids = itertools.count(1)
        self._replies: dict[int, Future] = {}
        self._channels: dict[str, Channel] = {}
        self._closing = False
        self._short = False  # told once that pipes ran out
        self._spare: Spare | None = None
        self.adopted = False  # True when an earlier godpy's keeper was found

    @property
    def running(self) -> bool:
        return self._sock is not None

    # -- start and stop ------------------------------------------------------------------
    def start(self, children=None, watches: int = 0) -> bool:
        """Connect to the keeper an earlier godpy left, or start one; False when neither
        worked (output then goes straight to the log files, as before)."""
        self._children = children
        raise_open_files_limit(4 * watches + 256)
        try:
            sock = self._reconnect()
            self.adopted = sock is not None
            if sock is None:
                sock = self._spawn()
        except OSError as exc:
            get_logger().error("output capture is off: cannot start the output keeper: %s", exc)
            return False
        self._use(sock)
        self._spawn_spare()
        return True

    def _reconnect(self) -> socket.socket | None:
        if self.path is None or not os.path.exists(self.path):
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.connect(self.path)
            uid = peer_uid(sock)
            if uid != os.geteuid():  # someone else's socket: never hand it our output
                raise ConnectionRefusedError(f"{self.path} is served by uid {uid}")
        except OSError:
            sock.close()
            os.unlink(self.path)  # a stale socket of a keeper that has gone
            return None
        get_logger().info("output keeper of an earlier godpy found at %s", self.path)
        return sock

    def _spawn(self) -> socket.socket:
        listener = None
        if self.path is not None:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:  # no keeper answers there (or it has just died): the path is stale
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            old = os.umask(0o177)
            try:
                listener.bind(self.path)
            finally:
                os.umask(old)
            listener.listen(4)
        try:
            ours, self._popen = self._launch(listener)
        finally:
            if listener is not None:
                listener.close()
        return ours

    def _launch(self, listener: socket.socket | None = None, spare: bool = False):
        """Start the keeper (or the spare) on a new socketpair: (our end, its Popen)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = [theirs.fileno()]
        if spare:
            args = ["--hold", str(theirs.fileno())]
        else:
            fds += [listener.fileno()] if listener is not None else []
            args = [str(listener.fileno() if listener is not None else -1), str(fds[0])]
        try:
            popen = subprocess.Popen(
                [sys.executable, "-I", "-S", _KEEPER, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=None,  # a traceback lands in godpy's own stderr
                pass_fds=fds,
                start_new_session=True,  # Ctrl-C on godpy in a terminal must not end it
                cwd="/",
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        if self._children is not None:
            self._children.add(popen)
        return ours, popen

    def _spawn_spare(self) -> None:
        """The spare keeps the pipe ends godpy does not (``output_spare``)."""
        try:
            sock, popen = self._launch(spare=True)
        except OSError as exc:
            get_logger().warning("output capture: no spare (%s); godpy keeps the copies", exc)
            return
        self._spare = Spare(sock, popen.pid)

    def keep(self, name: str, readers: tuple[int, int], writers: tuple[int, int]) -> bool:
        """Give the spare ``name``'s read ends, and its write ends when it lends them (at
        ``lent_at(name)``); False when there is no spare (godpy keeps them itself)."""
        return self._spare is not None and self._spare.keep(name, readers, writers)

    def lent_at(self, name: str) -> tuple[int, int] | None:
        """Where the spare keeps ``name``'s write ends, when it lends them."""
        return self._spare.lent_at(name) if self._spare is not None else None

    def borrow(self, where: tuple[int, int]) -> list[int]:
        """Copies of write ends the spare keeps at ``where``.

        Raises:
            FileNotFoundError: nothing there (yet: the spare has not read the message).
            OSError: it no longer lends (said once in the log).
        """
        spare = self._spare
        if spare is None:
            raise OSError("no spare")
        try:
            return spare.borrow(where)
        except OSError as exc:
            if exc.errno == errno.EBADF:
                raise FileNotFoundError(exc.errno, exc.strerror) from None
            if spare.lends:
                spare.lends = False
                get_logger().warning(
                    "output capture: cannot borrow write ends from the spare (%s); godpy "
                    "keeps them itself from now on",
                    exc.strerror or exc,
                )
            raise

    def _use(self, sock: socket.socket) -> None:
        self._sock = sock
        threading.Thread(target=self._read, args=(sock,), name="output", daemon=True).start()

    def close(self, stop: bool) -> None:
        """``stop``: the keeper takes what is left in the pipes and ends (godpy stops its
        watches); else it goes on for the programs left running."""
        self._closing = True
        with self._lock:
            sock, self._sock = self._sock, None
            if sock is None:
                return
            if stop:
                try:
                    send(sock, {"op": "quit"})
                except OSError:
                    pass
            sock.close()
        if stop and self._popen is not None:
            try:
                self._popen.wait(5)
            except subprocess.TimeoutExpired:
                get_logger().warning("output keeper still running 5s after quit")
        for channel in self._channels.values():
            channel.release()
        if self._spare is not None:
            self._spare.close()  # the spare ends with us
            self._spare = None

    # -- talking -------------------------------------------------------------------------
    def _send(self, message: dict, fds=()) -> bool:
        with self._lock:
            if self._sock is None:
                return False
            try:
                send(self._sock, message, fds)
                return True
            except OSError:
                return False

    def _read(self, sock: socket.socket) -> None:
        while True:
            try:
                got = receive(sock)
            except (OSError, ValueError):
                got = None
            if got is None:
                break
            message, fds = got
            close_all(fds)
            op = message.get("op")
            if op == "reply":
                future = self._replies.pop(message.get("id"), None)
                if future is not None:
                    future.set_result(message)
            elif op == "problem":
                watch = message.get("watch")
                extra = {"watch": watch} if watch else {}
                who = f"{watch} " if watch else ""
                get_logger().error("%soutput: %s", who, message.get("text"), extra=extra)
        for future in list(self._replies.values()):
            future.set_exception(ConnectionError("the output keeper has gone"))
        self._replies.clear()
        self._lost(sock)

    def _lost(self, sock: socket.socket) -> None:
        """The keeper died under us: start another and hand it every pipe we hold (the
        programs write on meanwhile into the pipes' buffers)."""
        with self._lock:
            if self._closing or self._sock is not sock:
                return
            self._sock = None
        get_logger().error("output keeper has gone; starting another")
        try:
            sock = self._spawn()
        except OSError as exc:
            get_logger().error("cannot start the output keeper again: %s", exc)
            return
        self._use(sock)
        copies = {}
        if self._spare is not None:
            try:
                copies = self._spare.copies()
            except (OSError, ValueError) as exc:
                get_logger().error("output capture: the spare did not answer: %s", exc)
        for channel in list(self._channels.values()):
            channel.resend(copies.pop(channel.name, None))
        for fds in copies.values():
            close_all([fd for fd in fds if fd is not None])

    def attach(self, name: str, settings: dict, readers=(), wait: bool = False) -> list[str]:
        """Tell the keeper where ``name``'s output goes (and hand it ``readers``).

        With ``wait``, the problems it met opening the files (a start waits for them).

        Raises:
            ConnectionError: no keeper took it.
        """
        message = {"op": "attach", "watch": name, "settings": settings}
        if not wait:
            if not self._send(message, readers):
                raise ConnectionError("output capture is off")
            return []
        return self._request(message, readers)["problems"]

    def _request(self, message: dict, fds=(), timeout: float = 10.0) -> dict:
        future: Future = Future()
        message["id"] = ident = next(self._ids)
        self._replies[ident] = future
        if not self._send(message, fds):
            self._replies.pop(ident, None)
            raise ConnectionError("output capture is off")
        try:
            return future.result(timeout)
        except TimeoutError:
            self._replies.pop(ident, None)
            raise ConnectionError(f"the output keeper did not answer in {timeout:g}s") from None

    def out_of_pipes(self, exc: OSError) -> None:
        if not self._short:
            self._short = True
            get_logger().error(
                "output capture: cannot make pipes (%s); watches started from now on write "
                "straight to their log files, and `godpy tail` has nothing for them (raise "
                "the open files limit, e.g. LimitNOFILE=)",
                exc.strerror or exc,
            )

    def reopen(self) -> None:
        """Log files open again (SIGHUP, after an outside logrotate)."""
        self._send({"op": "reopen"})

    def tail(self, name: str, stream: str, lines: int, since: int | None, timeout=5.0) -> dict:
        """The kept output of ``name``'s ``stream`` ("out" or "err").

        Raises:
            ConnectionError: no keeper runs.
        """
        message = {"op": "tail", "watch": name, "stream": stream, "lines": lines,
                   "since": since}  # fmt: skip
        reply = self._request(message, timeout=timeout)
        return {k: reply[k] for k in ("text", "cursor", "skipped")}

    # -- watches -------------------------------------------------------------------------
    def channel(self, name: str) -> Channel:
        """The channel of watch ``name`` (made once; a reloaded watch gets the same)."""
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = Channel(self, name)
        return channel

    def forget(self, name: str) -> None:
        """Watch ``name`` has left the config: the keeper drops it once its pipes close."""
        channel = self._channels.pop(name, None)
        if channel is not None:
            channel.release()
            if self._spare is not None:
                self._spare.drop(name)
        self._send({"op": "detach", "watch": name})


class Channel:
    """One watch's two pipes (stdout, stderr) and where their output goes.

    The pipes are made at the first start. The spare keeps both ends of each when it
    can (``output_spare``); then godpy holds none between starts and borrows the write
    ends for each start (``writers``, then ``spawned``)."""

    def __init__(self, keeper: OutputKeeper, name: str):
        self.keeper, self.name = keeper, name
        self.settings: dict = {}
        self._sent: dict | None = None
        # the ends godpy holds (None: not held): out_r, out_w, err_r, err_w
        self._fds: tuple | None = None
        self._ids: tuple | None = None  # (st_dev, st_ino) of the two write ends
        self._borrowed: list[int] = []

    def configure(self, settings: dict) -> None:
        """Where the output goes (a reload may change it while the program runs: the
        keeper hears of it at once, and the next start waits for the files)."""
        self.settings = settings
        if self._fds is not None and self._sent is not None and settings != self._sent:
            try:
                self.keeper.attach(self.name, settings)
                self._sent = settings
            except ConnectionError:
                pass

    def writers(self) -> tuple[int, int] | None:
        """The write ends for a new process (driver thread; ``spawned`` once it has
        forked); None when capture is off.

        The first start, and the first after a change, wait until the keeper has opened
        the log files (no wait without any).

        Raises:
            OSError: a log file could not be opened (the start fails with that reason).
        """
        if not self.keeper.running:
            return None
        fresh = self._fds is None
        if fresh:
            try:
                out_r, out_w = os.pipe2(os.O_CLOEXEC)
                err_r, err_w = os.pipe2(os.O_CLOEXEC)
            except OSError as exc:  # out of file descriptors: the files, as without a keeper
                self.keeper.out_of_pipes(exc)
                return None
            self._fds = (out_r, out_w, err_r, err_w)
            self._ids = (_identity(out_w), _identity(err_w))
        if fresh or self._sent != self.settings:
            files = bool(self.settings.get("log") or self.settings.get("err_log"))
            readers = (self._fds[0], self._fds[2]) if fresh else ()
            try:
                problems = self.keeper.attach(self.name, self.settings, readers, wait=files)
            except ConnectionError:
                if fresh:
                    self.release()
                return None  # straight to the files, as without a keeper
            self._sent = None if problems else self.settings
            if fresh and self.keeper.keep(self.name, readers, (self._fds[1], self._fds[3])):
                # the spare holds the copies: a start forks with fewer descriptors (at
                # 1,000 watches, each two a watch cost 0.45 ms of every restart)
                os.close(out_r)
                os.close(err_r)
                self._fds = (None, out_w, None, err_w)
            if problems:
                raise OSError("; ".join(problems))
        return self._lent() or (self._fds[1], self._fds[3])

    def _lent(self) -> list[int] | None:
        """The write ends borrowed from the spare, once godpy no longer holds its own."""
        if self._fds[1] is not None:
            return None  # ours, until the spare is seen to have them (``spawned``)
        where = self.keeper.lent_at(self.name)
        got = self._borrow(where, checked=True) if where is not None else None
        if got is None:  # the spare died with them (or stopped lending): new pipes
            self._fds = None
            return list(self.writers() or ()) or None
        self._borrowed = got
        return got

    def _borrow(self, where: tuple[int, int], checked: bool = False) -> list[int] | None:
        """Copies of the write ends at ``where`` in the spare, if they are this watch's
        (``checked``: seen to be, when godpy closed its own: only godpy puts pipes
        there, and a new pipe of this watch is held by godpy until seen there too)."""
        try:
            got = self.keeper.borrow(where)
        except OSError:
            return None
        if checked or [_identity(fd) for fd in got] == list(self._ids):
            return got
        for fd in got:
            os.close(fd)
        return None

    def spawned(self) -> None:
        """The new process has its copies: give back the borrowed write ends; and once
        the spare is seen to hold this watch's, godpy closes its own."""
        borrowed, self._borrowed = self._borrowed, []
        for fd in borrowed:
            os.close(fd)
        if self._fds is None or self._fds[1] is None:
            return
        where = self.keeper.lent_at(self.name)
        if where is not None and (seen := self._borrow(where)) is not None:
            for fd in seen:
                os.close(fd)
            self._close(1, 3)

    def resend(self, copies: list | None = None) -> None:
        """Hand the read ends (ours, or the spare's ``copies``, closed here) to a new
        keeper."""
        if self._fds is None:
            return
        readers = (self._fds[0], self._fds[2]) if self._fds[0] is not None else copies
        try:
            if readers and None not in readers:
                self.keeper.attach(self.name, self.settings, readers)
        except ConnectionError:
            pass
        finally:
            if copies:
                close_all([fd for fd in copies if fd is not None])

    def _close(self, *slots: int) -> None:
        fds = list(self._fds)
        for slot in slots:
            fd, fds[slot] = fds[slot], None
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fds = tuple(fds)

    def release(self) -> None:
        if self._fds is not None:
            self._close(0, 1, 2, 3)
        self._fds = None
        self.spawned()


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def raise_open_files_limit(needed: int) -> None:
    """Raise the soft limit of open files to ``needed`` when it is lower (each watch holds
    two pipe ends, four for a moment at its first start; the soft limit is often 1,024).
    The programs inherit the new limit, so it is only raised when the watches need it,
    and said in the log."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    new = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    except (ValueError, OSError):
        return
    get_logger().info("open files limit raised from %d to %d for output pipes", soft, new)
