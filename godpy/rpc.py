"""Control channel: Pyro5's wire protocol, and the client the CLI uses. The one module
that imports Pyro5 (the server, ``control_server``, speaks the wire through this one).

The client speaks json (C-accelerated, about ten times faster than serpent to load a
200-watch status; never pickle). Before it sends a byte it checks the socket's folders
and the server's uid (``socket_file``). It loads only Pyro5's protocol constants (the
CLI's start-up time), not Pyro5's client, and frames messages itself, so that no PYRO_*
environment setting (compression, say) changes what it sends.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from typing import NamedTuple

from Pyro5 import protocol

from godpy.socket_file import (
    UntrustedSocket,
    check_path,
    describe_uid,
    peer_uid,
    trusted_uids,
)

__all__ = ["Client", "NoDaemon", "RemoteError", "UntrustedSocket", "default_socket_path"]

OBJECT_ID = "godpy"
JSON, SERPENT = 3, 1  # Pyro5's serializer ids
#: The longest message the server reads, header included (a longer one is refused from
#: its header, unread).
MAX_MESSAGE = 1 << 20
#: Pyro5's message header (Pyro5/protocol.py): tag, version, type, serializer, flags, seq,
#: data size, annotations size, correlation id, reserved, magic.
HEADER = struct.Struct("!4sHBBHHII16sHH")
_MAGIC = 0x4DC5
#: The message types and flags of Pyro5 that godpy speaks.
MSG_CONNECT, MSG_CONNECTOK = protocol.MSG_CONNECT, protocol.MSG_CONNECTOK
MSG_CONNECTFAIL, MSG_INVOKE = protocol.MSG_CONNECTFAIL, protocol.MSG_INVOKE
MSG_RESULT, MSG_PING = protocol.MSG_RESULT, protocol.MSG_PING
FLAGS_EXCEPTION = protocol.FLAGS_EXCEPTION
#: Flags of messages the server refuses: oneway, batch, blob, compressed, streamed.
NOT_SERVED = (
    protocol.FLAGS_ONEWAY
    | protocol.FLAGS_BATCH
    | protocol.FLAGS_KEEPSERIALIZED
    | protocol.FLAGS_COMPRESSED
    | protocol.FLAGS_ITEMSTREAMRESULT
)


def default_socket_path() -> str:
    """``$GODPY_SOCKET``, else /run/godpy/godpy.sock for root, else a per-user path."""
    if os.environ.get("GODPY_SOCKET"):
        return os.environ["GODPY_SOCKET"]
    if os.geteuid() == 0:
        return "/run/godpy/godpy.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "godpy.sock")
    return os.path.expanduser("~/.godpy/godpy.sock")


class NoDaemon(Exception):
    """Nothing answers on the control socket (or it refused us)."""


class RemoteError(Exception):
    """The daemon answered with an error (its message is for the user)."""


# -- the wire ------------------------------------------------------------------------------
class Head(NamedTuple):
    """A message's header: what the server and the client look at."""

    type: int
    serializer: int
    flags: int
    seq: int
    data_size: int
    annotations: int


def message(msgtype: int, seq: int, serializer: int, payload: bytes, flags: int = 0) -> bytes:
    """One Pyro5 message without annotations."""
    version = protocol.PROTOCOL_VERSION
    head = (b"PYRO", version, msgtype, serializer, flags, seq, len(payload), 0)
    return HEADER.pack(*head, bytes(16), 0, _MAGIC) + payload


def parse_head(data: bytes) -> Head:
    """The header at the start of ``data``; ValueError for bytes that are no Pyro5 message."""
    tag, version, msgtype, ser, flags, seq, size, ann, _corr, _, magic = HEADER.unpack_from(data)
    if tag != b"PYRO" or version != protocol.PROTOCOL_VERSION or magic != _MAGIC:
        raise ValueError(f"not a Pyro5 message of protocol {protocol.PROTOCOL_VERSION}")
    return Head(msgtype, ser, flags, seq, size, ann)


def frame(buffer: bytes) -> int | None:
    """The length of the message starting ``buffer`` (None until its header is in)."""
    if not b"PYRO".startswith(buffer[:4]):
        raise ValueError("not a Pyro5 message")
    if len(buffer) < HEADER.size:
        return None
    head = parse_head(buffer)
    return HEADER.size + head.annotations + head.data_size


def short(value) -> str:
    """``repr(value)``, cut to 60 characters (for messages about what a peer sent)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- client --------------------------------------------------------------------------------
class _Reply(NamedTuple):
    head: Head
    body: bytes


class Client:
    """A connection to the daemon on ``path``; ``call(name, *args)`` runs a command.

    Nothing is sent until the socket's folders pass ``socket_file.check_path`` and the
    server runs as root, as us, or as ``owner`` (default $GODPY_OWNER).

    Raises (from call):
        UntrustedSocket: the path or the server is not trusted.
        NoDaemon: nothing answers on the socket (or it refused us).
        RemoteError: the daemon reported an error.
    """

    def __init__(self, path: str, timeout: float = 30.0, owner: str | None = None):
        self.path = path
        self.timeout = timeout
        self._owner = owner
        self._sock: socket.socket | None = None
        self._server_uid: int | None = None
        self._seq = 0

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def call(self, name: str, *args, timeout: float | None = None):
        """Call method ``name`` of the daemon with ``args`` and return its result."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        call = {"object": OBJECT_ID, "method": name, "params": list(args), "kwargs": {}}
        payload = json.dumps(call, ensure_ascii=False).encode()
        if HEADER.size + len(payload) > MAX_MESSAGE:
            raise RemoteError(
                f"request too large ({len(payload)} bytes; the daemon reads at most {MAX_MESSAGE})"
            )
        if self._sock is None:
            self._connect(deadline)
        reply = self._exchange(MSG_INVOKE, payload, deadline)
        data = json.loads(reply.body) if reply.body else None
        if reply.head.flags & FLAGS_EXCEPTION:
            raise RemoteError(_error_text(data))
        return data

    def _connect(self, deadline: float) -> None:
        trusted = trusted_uids(self._owner)
        try:
            check_path(self.path, trusted)
        except UntrustedSocket:
            raise
        except PermissionError:
            raise NoDaemon(self._denied()) from None
        except OSError:
            raise NoDaemon(f"no godpy daemon on {self.path} (is it running?)") from None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock.connect(self.path)
            uid = peer_uid(sock)
        except BaseException as exc:
            sock.close()
            raise self._connect_error(exc) from None
        if uid not in trusted:
            sock.close()
            raise UntrustedSocket(
                f"{self.path} is served by {describe_uid(uid)}, not by root or "
                f"{describe_uid(os.geteuid())}: refusing to talk to it (GODPY_OWNER names "
                "another user whose daemon you trust)"
            )
        self._sock, self._server_uid = sock, uid
        hello = json.dumps({"handshake": "hello", "object": OBJECT_ID}).encode()
        reply = self._exchange(MSG_CONNECT, hello, deadline)
        if reply.head.type != MSG_CONNECTOK:
            self.close()
            text = json.loads(reply.body) if reply.head.serializer == JSON else "refused"
            raise NoDaemon(f"the godpy daemon on {self.path} refused us: {text}")

    def _connect_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, PermissionError):
            return NoDaemon(self._denied())
        if isinstance(exc, TimeoutError):
            return NoDaemon(f"godpy daemon on {self.path} did not answer in time")
        if isinstance(exc, OSError):
            return NoDaemon(f"no godpy daemon on {self.path} (is it running?)")
        return exc

    def _denied(self) -> str:
        return f"permission denied on {self.path}: only the daemon's own user and root may use it"

    def _exchange(self, msgtype: int, payload: bytes, deadline: float) -> _Reply:
        self._seq = (self._seq + 1) & 0xFFFF
        try:
            self._send(message(msgtype, self._seq, JSON, payload), deadline)
            head = parse_head(self._recv(HEADER.size, deadline))
            body = self._recv(head.annotations + head.data_size, deadline)
        except TimeoutError:
            self.close()
            raise NoDaemon(f"godpy daemon on {self.path} did not answer in time") from None
        except ValueError:
            self.close()
            raise NoDaemon(f"the process on {self.path} does not speak godpy's protocol") from None
        except OSError:
            self.close()
            raise NoDaemon(self._closed(msgtype)) from None
        if head.seq != self._seq or head.serializer != JSON:
            self.close()
            raise NoDaemon(f"the daemon on {self.path} answered out of turn")
        return _Reply(head, body[head.annotations :])

    def _closed(self, msgtype: int) -> str:
        me = os.geteuid()
        if msgtype == MSG_CONNECT and me not in (0, self._server_uid):
            return (
                f"the godpy daemon on {self.path} refused us: uid {me} may not control this godpy"
            )
        return (
            f"the godpy daemon on {self.path} closed the connection without answering "
            "(did it exit? see its log)"
        )

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            self._sock.settimeout(_left(deadline))
            view = view[self._sock.send(view) :]

    def _recv(self, size: int, deadline: float) -> bytes:
        data = bytearray()
        while len(data) < size:
            self._sock.settimeout(_left(deadline))
            chunk = self._sock.recv(min(size - len(data), 1 << 20))
            if not chunk:
                raise ConnectionResetError("the daemon closed the connection")
            data += chunk
        return bytes(data)


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no answer in time")
    return left


def _error_text(data) -> str:
    """The message of an exception the daemon sent (Pyro5's dict form of it)."""
    if isinstance(data, dict):
        args = data.get("args") or []
        if len(args) == 1 and isinstance(args[0], str):
            return args[0]
        return " ".join(map(str, args)) or str(data.get("__class__", "error"))
    return str(data)


def serpent_loads(body: bytes):
    """Decode a serpent body (Pyro5's default serializer) as plain data."""
    import serpent

    return serpent.loads(body)


def serpent_dumps(value) -> bytes:
    """Encode ``value`` with serpent, as a Pyro5 proxy expects."""
    import serpent

    return serpent.dumps(value, module_in_classname=True)
