"""Control channel: a Pyro5 server on a Unix socket, and its client. The one module that
imports Pyro5.

The server exposes an explicit list of methods returning plain data (the client asks for
json: C-accelerated, about ten times faster than serpent to load a 200-watch status;
never pickle). Every connection's peer uid is checked with SO_PEERCRED: only the daemon's
own uid and root are served. At import only Pyro5's client side is loaded (the CLI's
start-up time); the server side is imported by ControlServer.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from typing import TYPE_CHECKING

import Pyro5.client
import Pyro5.errors

if TYPE_CHECKING:
    import Pyro5.server

OBJECT_ID = "godpy"
_PEERCRED = struct.Struct("3i")


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


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket."""
    _pid, uid, _gid = _PEERCRED.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    )
    return uid


class NoDaemon(Exception):
    """Nothing answers on the control socket."""


class RemoteError(Exception):
    """The daemon answered with an error (its message is for the user)."""


# -- server --------------------------------------------------------------------------------
def _checked_daemon(path: str, on_refused):
    """A Pyro5 daemon on ``path`` that serves only its own uid and root."""
    import Pyro5.server

    class _CheckedDaemon(Pyro5.server.Daemon):
        def __init__(self):
            self._on_refused = on_refused
            self._owner = os.geteuid()
            super().__init__(unixsocket=path)

        def _handshake(self, conn, denied_reason=None):
            """Refuse peers other than root and the daemon's own uid before decoding a byte
            they sent (Pyro5 decodes the handshake before ``validateHandshake``)."""
            uid = peer_uid(conn.sock)
            if uid not in (0, self._owner):
                self._on_refused(uid)
                denied_reason = f"uid {uid} may not control this godpy"
            return super()._handshake(conn, denied_reason)

    return _CheckedDaemon()


def prepare_socket_dir(path: str) -> None:
    """Create the socket's directory, owned by us and writable only by us."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.stat(directory)
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise PermissionError(
            f"socket directory {directory} must be owned by uid {os.geteuid()} and not "
            "writable by others"
        )


def is_answering(path: str, timeout: float = 2.0) -> bool:
    """True when a godpy daemon answers ``ping`` on ``path``."""
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
        on_refused: called with the uid of each refused peer.
    """

    def __init__(self, path: str, api, methods: tuple[str, ...], on_refused):
        self.path = path
        self._front = _front_class(methods)(api)
        self._daemon: Pyro5.server.Daemon | None = None
        self._thread: threading.Thread | None = None
        self._on_refused = on_refused

    def start(self) -> None:
        """Bind the socket (replacing a stale one) and serve in a thread.

        Raises:
            RuntimeError: another godpy already answers on this socket.
        """
        prepare_socket_dir(self.path)
        if os.path.exists(self.path):
            if is_answering(self.path):
                raise RuntimeError(f"another godpy is already running on {self.path}")
            os.unlink(self.path)
        old = os.umask(0o177)
        try:
            self._daemon = _checked_daemon(self.path, self._on_refused)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self._inode = os.stat(self.path).st_ino
        self._daemon.register(self._front, OBJECT_ID)
        self._thread = threading.Thread(
            target=self._daemon.requestLoop, name="control", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and remove the socket file."""
        if self._daemon is None:
            return  # never bound: the socket file (another godpy's) is not ours to remove
        self.release_path()
        self._daemon.shutdown()
        self._daemon.close()
        self._daemon = None

    def release_path(self) -> None:
        """Remove the socket file, so no new client reaches us, if it is still ours.

        Connections already open keep working (a ``terminate`` caller gets its answer);
        a file that a newer godpy has bound at the same path is left alone.
        """
        try:
            if os.stat(self.path).st_ino == getattr(self, "_inode", None):
                os.unlink(self.path)
        except FileNotFoundError:
            pass


def _front_class(methods: tuple[str, ...]):
    """A Pyro5-exposed class forwarding exactly ``methods`` to the api object."""
    import Pyro5.server

    def make(name):
        def forward(self, *args):
            return getattr(self._api, name)(*args)

        forward.__name__ = name
        return Pyro5.server.expose(forward)

    namespace = {name: make(name) for name in methods}
    namespace["__init__"] = lambda self, api: setattr(self, "_api", api)
    front = type("GodpyControl", (), namespace)
    return Pyro5.server.expose(Pyro5.server.behavior(instance_mode="single")(front))


# -- client --------------------------------------------------------------------------------
class Client:
    """A connection to the daemon on ``path``; ``call(name, *args)`` runs a command.

    Raises (from call):
        NoDaemon: nothing answers on the socket (or it refused us).
        RemoteError: the daemon reported an error.
    """

    def __init__(self, path: str, timeout: float = 30.0):
        self.path = path
        self._proxy = Pyro5.client.Proxy(f"PYRO:{OBJECT_ID}@./u:{path}")
        self._proxy._pyroSerializer = "json"
        self._proxy._pyroTimeout = timeout

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self._proxy._pyroRelease()

    def call(self, name: str, *args, timeout: float | None = None):
        """Call method ``name`` of the daemon with ``args`` and return its result."""
        if timeout is not None:
            self._proxy._pyroTimeout = timeout
        try:
            return getattr(self._proxy, name)(*args)
        except Pyro5.errors.TimeoutError as exc:
            raise NoDaemon(f"godpy daemon on {self.path} did not answer in time") from exc
        except Pyro5.errors.ConnectionClosedError as exc:
            raise NoDaemon(
                f"the godpy daemon on {self.path} closed the connection without answering "
                "(did it exit? see its log)"
            ) from exc
        except Pyro5.errors.CommunicationError as exc:
            if "may not control" in str(exc):
                raise NoDaemon(f"the godpy daemon on {self.path} refused us: {exc}") from exc
            if "Permission denied" in str(exc):
                raise NoDaemon(
                    f"permission denied on {self.path}: only the daemon's own user and root "
                    "may use it"
                ) from exc
            raise NoDaemon(f"no godpy daemon on {self.path} (is it running?)") from exc
        except (ValueError, LookupError, RuntimeError, OSError) as exc:
            text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
            raise RemoteError(text) from exc
        except Pyro5.errors.PyroError as exc:
            raise RemoteError(f"the daemon failed: {exc}") from exc
