"""The output keeper: one process that drains every watched program's stdout and stderr.

It is started by the daemon (``python3 -I -S output_keeper.py``; standard library only,
so it starts in milliseconds and weighs a few MB), in its own session, and outlives it:

- Each watch has two pipes, made once by the daemon (not once per start). The daemon
  keeps the write ends and gives them to each new process of the watch; the keeper gets
  the read ends over a Unix socket (SCM_RIGHTS). Output written across restarts, and
  across a kill -9 of the daemon, lands in one place.
- It writes each stream to its log file (rotated by size; the files of a watch that runs
  as another user are opened and rotated by a forked child with that user's rights),
  pipes it to a log command, and keeps the last 256 KB of each in memory for
  ``godpy tail``.
- ``--hold`` runs the spare instead: a process that only keeps a copy of each read end,
  so that a killed keeper leaves the pipes with a reader (no SIGPIPE) and the next
  keeper gets them back, without godpy holding them (every start forks godpy, and the
  fork copies its table of descriptors).
- When the daemon dies, the keeper goes on draining: a program never blocks on a full
  pipe nor gets SIGPIPE. The next daemon connects to the keeper's socket and goes on.
  With no daemon connected and no pipe left open, the keeper exits.

Messages, both ways: a 4-byte length, then JSON; file descriptors ride on the first byte.
"""

from __future__ import annotations

import collections
import errno
import json
import os
import selectors
import socket
import struct
import subprocess
import sys
import time

#: Bytes of each stream kept for ``godpy tail``.
RING_BYTES = 256 * 1024
#: Lines ``tail`` returns at most.
MAX_LINES = 1000
#: A partial line waits this long for its end when two streams share a file.
LINE_WAIT = 0.2
_HEADER = struct.Struct("!I")
_MAX_MESSAGE = 1 << 20
_MAX_FDS = 250  # SCM_RIGHTS carries at most 253 descriptors a message
_READ = 65536


# -- framing (shared with the daemon side) --------------------------------------------
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
        data, more, _flags, _addr = socket.recv_fds(sock, _HEADER.size - len(head), _MAX_FDS)
        fds += more
        if not data:
            _close_all(fds)
            return None
        head += data
    (size,) = _HEADER.unpack(head)
    if size > _MAX_MESSAGE:
        _close_all(fds)
        raise ValueError(f"message of {size} bytes")
    body = bytearray()
    while len(body) < size:
        data = sock.recv(size - len(body))
        if not data:
            _close_all(fds)
            return None
        body += data
    return json.loads(body), fds


def _close_all(fds) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


# -- where output goes ------------------------------------------------------------------
class Ring:
    """The last RING_BYTES of a stream, and how many bytes it has seen in all."""

    def __init__(self):
        self.chunks: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.seen = 0

    def add(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        self.seen += len(data)
        while self.size - len(self.chunks[0]) >= RING_BYTES:
            self.size -= len(self.chunks.popleft())

    def tail(self, lines: int, since: int | None) -> dict:
        """The last ``lines`` lines, or everything after byte ``since`` that is still
        kept (``skipped``: bytes after ``since`` that are not)."""
        data = b"".join(self.chunks)
        first = self.seen - len(data)
        skipped = 0
        if since is not None:
            start = max(since, first)
            skipped = max(0, first - since)
            data = data[start - first :]
        else:
            lines = max(0, min(int(lines), MAX_LINES))
            if not lines:
                data = b""
            else:
                cut = len(data) - 1 if data.endswith(b"\n") else len(data)
                for _ in range(lines):
                    cut = data.rfind(b"\n", 0, cut)
                    if cut < 0:
                        break
                data = data[cut + 1 :]
        return {
            "text": data.decode("utf-8", "replace"),
            "cursor": self.seen,
            "skipped": skipped,
        }


class AsUser:
    """Rights to open and rename a watch's files with: godpy's own (None), or a user's,
    used by a forked child so that a path the user controls never leads root anywhere."""

    def __init__(self, user):
        self.user = user  # None or (uid, gid, [groups])

    def open_log(self, path: str, rotate_to: int) -> int:
        """Open ``path`` for append (after rotating it when ``rotate_to`` >= 0).

        Raises:
            OSError: it could not be opened (with the user's rights).
        """
        if self.user is None:
            return _open_log(path, rotate_to)
        left, right = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the child: switch user, open, hand the fd over, leave
            code = 0
            try:
                left.close()
                # nothing of root's (other watches' pipes, godpy's connection) stays
                # open in a process that is about to become the user's
                keep = right.fileno()
                os.closerange(3, keep)
                os.closerange(keep + 1, 1 << 20)
                uid, gid, groups = self.user
                os.setgroups(groups)
                os.setresgid(gid, gid, gid)
                os.setresuid(uid, uid, uid)
                fd = _open_log(path, rotate_to)
                socket.send_fds(right, [b"ok"], [fd])
            except OSError as exc:
                right.sendall(f"{exc.errno}:{exc.strerror}".encode())
            except BaseException:
                code = 1
            os._exit(code)
        right.close()
        try:
            left.settimeout(10)
            data, fds, _flags, _addr = socket.recv_fds(left, 1024, 1)
        finally:
            left.close()
            os.waitpid(pid, 0)
        if fds:
            return fds[0]
        number, _, text = data.decode(errors="replace").partition(":")
        raise OSError(int(number) if number.isdigit() else errno.EIO, text or "no answer", path)


def _open_log(path: str, rotate_to: int) -> int:
    """Rename ``path`` to ``path.1`` (``.1`` to ``.2``, ... up to ``rotate_to``; the
    oldest is dropped; 0 truncates instead), then open ``path`` for append, never
    through a symlink."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    if rotate_to == 0:
        flags |= os.O_TRUNC
    elif rotate_to > 0:
        for n in range(rotate_to - 1, 0, -1):
            try:
                os.rename(f"{path}.{n}", f"{path}.{n + 1}")
            except FileNotFoundError:
                pass
        try:
            os.rename(path, f"{path}.1")
        except FileNotFoundError:
            pass
    return os.open(path, flags, 0o644)


class LogFile:
    """A log file, rotated when a write would take it past ``max_size`` bytes."""

    def __init__(self, path: str, max_size: int | None, backups: int, rights: AsUser):
        self.path, self.max_size, self.backups, self.rights = path, max_size, backups, rights
        self.fd: int | None = None
        self.size = 0
        self.error: str | None = None

    def open(self, rotate: bool = False) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.fd = self.rights.open_log(self.path, self.backups if rotate else -1)
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes) -> None:
        if self.fd is None:
            return
        view = memoryview(data)
        while view:
            if self.max_size and self.size and self.size + len(view) > self.max_size:
                room = self.max_size - self.size
                # a file ends at a line's end when one fits, else exactly at the limit
                cut = bytes(view[:room]).rfind(b"\n") + 1 if room > 0 else 0
                if cut:
                    self._put(view[:cut])
                    view = view[cut:]
                self.open(rotate=True)
                continue
            piece = view if not self.max_size else view[: max(1, self.max_size)]
            self._put(piece)
            view = view[len(piece) :]

    def _put(self, data) -> None:
        while data:
            written = os.write(self.fd, data)
            self.size += written
            data = data[written:]

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class LogCommand:
    """A command whose stdin receives a stream (``w.log_cmd``); started again (at most
    once a second) when it has died. Output it cannot take at once is dropped, never
    waited for: a slow command must not stall every other watch."""

    def __init__(self, command: str, user):
        self.command, self.user = command, user
        self.popen: subprocess.Popen | None = None
        self.started = float("-inf")
        self.dropped = 0

    def write(self, data: bytes) -> str | None:
        if self.popen is not None and self.popen.poll() is not None:
            self.popen.stdin.close()
            self.popen = None
        if self.popen is None:
            now = time.monotonic()
            if now - self.started < 1.0:
                self.dropped += len(data)
                return None
            self.started = now
            try:
                self.popen = self._spawn()
            except (OSError, subprocess.SubprocessError) as exc:
                return f"log command failed to start: {exc}"
        try:
            written = os.write(self.popen.stdin.fileno(), data)
            self.dropped += len(data) - written
        except BlockingIOError:
            self.dropped += len(data)
        except BrokenPipeError:
            self.dropped += len(data)
        return None

    def _spawn(self) -> subprocess.Popen:
        kwargs = {}
        if self.user is not None:
            uid, gid, groups = self.user
            kwargs = {"user": uid, "group": gid, "extra_groups": groups}
        popen = subprocess.Popen(
            ["/bin/sh", "-c", self.command],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd="/",
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C"},
            **kwargs,
        )
        os.set_blocking(popen.stdin.fileno(), False)
        return popen

    def close(self) -> None:
        if self.popen is not None:
            self.popen.stdin.close()  # it sees EOF and ends in its own time
            self.popen = None


class WatchOutput:
    """Where one watch's two streams go."""

    def __init__(self, name: str):
        self.name = name
        self.rings = {"out": Ring(), "err": Ring()}
        self.settings: dict = {}
        self.files: dict[str, LogFile] = {}
        self.commands: dict[str, LogCommand] = {}
        self.pending = {"out": b"", "err": b""}  # partial lines, when a file is shared
        self.pending_since = {"out": 0.0, "err": 0.0}
        self.pipes = 0  # read ends still open
        self.detached = False
        self.broken = False  # a file could not be opened: try again at the next attach

    def configure(self, settings: dict) -> list[str]:
        """Apply ``settings`` (files, rotation, commands, user); the problems met."""
        if settings == self.settings and not self.broken:
            return []
        self.close()
        self.settings = settings
        self.broken = False
        problems = []
        rights = AsUser(settings.get("user"))
        size, backups = settings.get("max_size"), int(settings.get("backups", 5))
        out_path, err_path = settings.get("log"), settings.get("err_log")
        for stream, path in (("out", out_path), ("err", err_path)):
            if not path:
                continue
            log = LogFile(path, size, backups, rights)
            try:
                log.open()
            except OSError as exc:
                who = f" as uid {settings['user'][0]}" if settings.get("user") else ""
                problems.append(f"cannot open {path}{who}: {exc.strerror or exc}")
                self.broken = True
                continue
            self.files[stream] = log
        for stream, key in (("out", "log_cmd"), ("err", "err_log_cmd")):
            if settings.get(key):
                self.commands[stream] = LogCommand(settings[key], settings.get("user"))
        return problems

    def targets(self, stream: str) -> tuple[LogFile | None, LogCommand | None]:
        """stderr goes where stdout goes unless it has a place of its own."""
        if stream == "err" and not (self.settings.get("err_log") or self.commands.get("err")):
            return self.files.get("out"), self.commands.get("out")
        return self.files.get(stream), self.commands.get(stream)

    def shared(self, stream: str) -> bool:
        """True when stderr shares stdout's file (lines must not be cut in two)."""
        return (
            "out" in self.files
            and not self.settings.get("err_log")
            and not self.commands.get("err")
        )

    def take(self, stream: str, data: bytes, now: float) -> list[str]:
        """New output of ``stream``."""
        self.rings[stream].add(data)
        if self.shared(stream):
            data = self.pending[stream] + data
            end = data.rfind(b"\n") + 1
            if len(data) - end > 4096:
                end = len(data)
            self.pending[stream] = data[end:]
            if self.pending[stream]:
                self.pending_since[stream] = self.pending_since[stream] or now
            else:
                self.pending_since[stream] = 0.0
            data = data[:end]
        return self.deliver(stream, data)

    def deliver(self, stream: str, data: bytes) -> list[str]:
        if not data:
            return []
        problems = []
        log, command = self.targets(stream)
        if log is not None:
            try:
                log.write(data)
                log.error = None
            except OSError as exc:
                text = f"cannot write {log.path}: {exc.strerror or exc}"
                if log.error != text:
                    problems.append(text)
                log.error = text
        if command is not None:
            problem = command.write(data)
            if problem:
                problems.append(problem)
        return problems

    def flush_partial(self, now: float, force: bool = False) -> list[str]:
        problems = []
        for stream, since in self.pending_since.items():
            if since and (force or now - since >= LINE_WAIT):
                data, self.pending[stream], self.pending_since[stream] = (
                    self.pending[stream],
                    b"",
                    0.0,
                )
                problems += self.deliver(stream, data)
        return problems

    def reopen(self) -> list[str]:
        problems = []
        for log in self.files.values():
            try:
                log.open()
            except OSError as exc:
                problems.append(f"cannot open {log.path}: {exc.strerror or exc}")
        return problems

    def close(self) -> None:
        self.flush_partial(0.0, force=True)
        for log in self.files.values():
            log.close()
        for command in self.commands.values():
            command.close()
        self.files, self.commands = {}, {}


# -- the process ----------------------------------------------------------------------
class Keeper:
    """The keeper's loop: the daemon's connection, the listener, and every pipe."""

    def __init__(self, listener: socket.socket | None, conn: socket.socket | None):
        self.selector = selectors.DefaultSelector()
        self.listener = listener
        self.conn: socket.socket | None = None
        self.watches: dict[str, WatchOutput] = {}
        self.pipes: dict[int, tuple[WatchOutput, str]] = {}
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
            for output in list(self.watches.values()):
                if any(output.pending_since.values()):
                    self.problems(output.name, output.flush_partial(now))
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
        pending = [
            since for w in self.watches.values() for since in w.pending_since.values() if since
        ]
        if pending:
            return max(0.0, min(pending) + LINE_WAIT - time.monotonic())
        return 5.0 if self.conn is None else None

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid != os.geteuid():  # only the daemon's own user may take over
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
            _close_all(fds)
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
            if not until_empty and len(data) < _READ:
                return

    def _forget_if_done(self, output: WatchOutput) -> None:
        if output.detached and output.pipes == 0:
            output.close()
            self.watches.pop(output.name, None)


def hold(conn: socket.socket) -> None:
    """The spare: a copy of every pipe's read end, kept outside the daemon (a process
    that forks with thousands of descriptors open pays for each at every start) and
    outside the keeper (whose death must not leave the pipes without a reader, or the
    programs would die of SIGPIPE). It serves one daemon and ends with it.

    ``keep`` (fds, with their ``keys``), ``drop`` (``keys``), ``give`` (copies of every
    kept fd come back, in messages of up to ``_MAX_FDS``, then ``{"op": "given"}``).
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
            _close_all([kept.pop(key) for key in message["keys"] if key in kept])
        elif op == "give":
            items = list(kept.items())
            for start in range(0, len(items), _MAX_FDS):
                part = items[start : start + _MAX_FDS]
                send(conn, {"op": "kept", "keys": [k for k, _ in part]}, [fd for _, fd in part])
            send(conn, {"op": "given"})


def main(argv: list[str]) -> int:
    """``output_keeper.py LISTEN_FD CONN_FD`` (-1 for none), or ``--hold CONN_FD``."""
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
