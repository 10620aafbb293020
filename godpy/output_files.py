"""Where a watch's output goes, inside the output keeper: the tail ring, log files
rotated by size (opened with the watch user's rights), log commands, and one
``WatchOutput`` per watch that routes its two streams. Standard library only."""

from __future__ import annotations

import collections
import errno
import os
import socket
import subprocess
import time

#: Bytes of each stream kept for ``godpy tail``.
RING_BYTES = 256 * 1024
#: Lines ``tail`` returns at most.
MAX_LINES = 1000
#: A partial line waits this long for its end when two streams share a file.
LINE_WAIT = 0.2


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
