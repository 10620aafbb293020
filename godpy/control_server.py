"""The control socket's server: what a connection may ask, on top of a bounded Listener.

It speaks the part of Pyro5's protocol (``rpc``) that a proxy needs, for one object,
``godpy``, whose methods are an explicit list: the connect handshake, method calls and
pings. Not served: Pyro's own ``DaemonObject`` (object ``Pyro.Daemon``, with
``registered``, ``info``, ``get_metadata``, ``ping`` and the stream calls), oneway,
batch, blob and compressed messages, keyword arguments, and every serializer but json and
serpent. Arguments are decoded as plain data: no class is ever recreated from them.
"""

from __future__ import annotations

import json
import os

from godpy.rpc import (
    FLAGS_EXCEPTION,
    HEADER,
    JSON,
    MAX_MESSAGE,
    MSG_CONNECT,
    MSG_CONNECTFAIL,
    MSG_CONNECTOK,
    MSG_INVOKE,
    MSG_PING,
    MSG_RESULT,
    NOT_SERVED,
    OBJECT_ID,
    SERPENT,
    Client,
    Head,
    NoDaemon,
    RemoteError,
    frame,
    message,
    parse_head,
    serpent_dumps,
    serpent_loads,
    short,
)
from godpy.socket_file import check_path


class _Service:
    """What a connection may ask: the handshake, then calls of ``methods`` on ``api``."""

    #: Exceptions whose type the caller sees; any other becomes a RuntimeError (and is
    #: logged with its traceback: it is a bug).
    SHOWN = (ValueError, LookupError, RuntimeError, OSError, TypeError, AttributeError)

    def __init__(self, api, methods: tuple[str, ...]):
        self._api, self._methods = api, frozenset(methods)
        self._meta = {"methods": sorted(methods), "oneway": [], "attrs": []}

    def handle(self, session: dict, message: bytes) -> tuple[bytes | None, bool]:
        """Answer one message (Listener's ``handle``)."""
        head = parse_head(message)
        body = message[HEADER.size + head.annotations :]
        if head.type == MSG_CONNECT:
            return self._connect(session, head, body)
        if not session.get("connected"):
            return None, False
        if head.type == MSG_PING:
            return message(MSG_PING, head.seq, head.serializer, b"pong"), True
        if head.type == MSG_INVOKE:
            return self._invoke(head, body)
        return None, False

    def _loads(self, serializer: int, body: bytes):
        if serializer == JSON:
            return json.loads(body)
        if serializer == SERPENT:
            return serpent_loads(body)
        raise ValueError(f"serializer {serializer} is not accepted (json or serpent only)")

    def _dumps(self, serializer: int, value) -> bytes:
        if serializer == SERPENT:
            return serpent_dumps(value)
        return json.dumps(value, ensure_ascii=False).encode()

    def _connect(self, session: dict, head: Head, body: bytes) -> tuple[bytes, bool]:
        try:
            if head.flags & NOT_SERVED:
                raise ValueError("oneway, batch, blob and compressed messages are not served")
            data = self._loads(head.serializer, body)
            target = data.get("object") if isinstance(data, dict) else None
            if target != OBJECT_ID:
                raise LookupError(f"unknown object {short(target)}; served: {OBJECT_ID!r}")
            payload = self._dumps(head.serializer, {"handshake": "hello", "meta": self._meta})
        except Exception as exc:
            serializer = head.serializer if head.serializer in (JSON, SERPENT) else JSON
            failed = self._dumps(serializer, str(exc))
            return message(MSG_CONNECTFAIL, head.seq, serializer, failed), False
        session["connected"] = True
        return message(MSG_CONNECTOK, head.seq, head.serializer, payload), True

    def _invoke(self, head: Head, body: bytes) -> tuple[bytes, bool]:
        method = None
        try:
            if head.flags & NOT_SERVED:
                raise ValueError("oneway, batch, blob and compressed messages are not served")
            method, args = self._call_of(self._loads(head.serializer, body))
            result = getattr(self._api, method)(*args)
            payload = self._dumps(head.serializer, result)
        except Exception as exc:
            return self._failure(head, method, exc), not head.flags & NOT_SERVED
        return message(MSG_RESULT, head.seq, head.serializer, payload), True

    def _call_of(self, call) -> tuple[str, tuple]:
        """(method, args) of a decoded call; refuses anything but a listed method."""
        if isinstance(call, dict):  # json
            call = (call.get("object"), call.get("method"), call.get("params"), call.get("kwargs"))
        target, method, args, kwargs = call
        if target != OBJECT_ID:
            raise LookupError(f"unknown object {short(target)}; served: {OBJECT_ID!r}")
        if not isinstance(method, str) or method not in self._methods:
            raise AttributeError(f"godpy has no command {short(method)}")
        if not isinstance(args, (list, tuple)):
            raise TypeError("arguments must be a list")
        if kwargs:
            raise TypeError("keyword arguments are not accepted")
        return method, tuple(args)

    def _failure(self, head: Head, method, exc: Exception) -> bytes:
        shown = next((kind for kind in self.SHOWN if isinstance(exc, kind)), None)
        if shown is None:
            from godpy.log import get_logger

            get_logger().error("control socket: %s failed", method, exc_info=exc)
            shown = RuntimeError
        text = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
        serializer = head.serializer if head.serializer in (JSON, SERPENT) else JSON
        error = {"__class__": f"builtins.{shown.__name__}", "__exception__": True}
        payload = self._dumps(serializer, {**error, "args": [text], "attributes": {}})
        return message(MSG_RESULT, head.seq, serializer, payload, FLAGS_EXCEPTION)


def is_answering(path: str, timeout: float = 2.0) -> bool:
    """True when a godpy daemon answers ``ping`` on ``path``.

    Raises:
        UntrustedSocket: the path or the process answering on it is not trusted.
    """
    try:
        with Client(path, timeout) as client:
            return client.call("ping") == "pong"
    except (NoDaemon, RemoteError):
        return False


class ControlServer:
    """Serve ``api`` (an object whose public methods are the commands) on ``path``.

    Args:
        path: the Unix socket path.
        api: the object whose methods the clients call; each returns plain data.
        methods: the names clients may call (an explicit list, nothing else is reachable).
        on_refused: called with the uid of a refused peer (not for every one of a flood).
        limits: the connection bounds (``listener.Limits``; its defaults otherwise).
    """

    def __init__(
        self, path: str, api, methods: tuple[str, ...], on_refused, limits=None, group=None
    ):
        self.path = path
        self._group = group
        self._service = _Service(api, methods)
        self._on_refused = on_refused
        self._limits = limits
        self._file = None
        self._listener = None

    def start(self) -> None:
        """Bind the socket (replacing a stale one) and serve in threads.

        Raises:
            RuntimeError: another godpy already answers on this socket.
            PermissionError: the socket's folder is not ours alone (or could be swapped).
        """
        from godpy.listener import Limits, Listener
        from godpy.socket_file import Admitted, SocketFile, group_id, prepare_dir

        folder = os.path.dirname(os.path.abspath(self.path))
        new_folder = not os.path.isdir(folder)
        prepare_dir(folder)
        check_path(self.path, {0, os.geteuid()})
        if os.path.lexists(self.path):
            if is_answering(self.path):
                raise RuntimeError(f"another godpy is already running on {self.path}")
            os.unlink(self.path)
        gid = None if self._group is None else group_id(self._group)
        self._file = SocketFile(self.path, gid, new_folder=new_folder)
        limits = self._limits or Limits(max_message=MAX_MESSAGE)
        self._listener = Listener(
            self._file.sock,
            Admitted({0, os.geteuid()}, gid),
            frame,
            self._service.handle,
            self._on_refused,
            limits,
        )
        self._listener.start()

    def stop(self) -> None:
        """Stop serving (running commands get a moment to answer); remove our socket file."""
        if self._file is None:
            return  # never bound: the socket file (another godpy's) is not ours to remove
        self.release_path()
        self._listener.stop()
        self._file.close()
        self._file = None

    def release_path(self) -> None:
        """Remove the socket file, so no new client reaches us, if it is still ours.

        Connections already open keep working (a ``terminate`` caller gets its answer);
        a file that a newer godpy has bound at the same path is left alone.
        """
        if self._file is not None:
            self._file.remove()
