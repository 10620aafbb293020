"""Helpers for condition tests: bind a condition to a stand-in watch, load a config."""

import textwrap
from types import SimpleNamespace

import pytest

from godpy.config import load
from godpy.errors import ConfigError


def bound(cls, pid=None, **attrs):
    """A prepared condition of ``cls`` whose watch's process has ``pid``."""
    cond = cls(**attrs)
    process = SimpleNamespace(pid=pid, last_exit=None)
    cond.bind(SimpleNamespace(process=process, name="w", driver=None), None)
    cond.prepare()
    return cond


CONFIG = """\
from godpy import God
God.pid_file_directory = {pids!r}
with God.watch() as w:
    w.name = "app"
    w.start = "sleep 100"
    w.interval = 1
{body}
"""


def load_config(tmp_path, body, events=True):
    """Load a config with watch 'app' plus ``body`` (indented into the watch block)."""
    path = tmp_path / "cond.god.py"
    body = textwrap.indent(textwrap.dedent(body), "    ")
    path.write_text(CONFIG.format(pids=str(tmp_path / "pids"), body=body))
    return load(str(path), events=events)


def config_problems(tmp_path, body, events=True):
    """The ConfigError text of a config that must be refused."""
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, body, events)
    return str(info.value)


class HttpStub:
    """An HTTP server in a thread whose answer the test changes as it goes.

    Attributes:
        status, body: what every GET gets.
        delay: seconds to wait before answering (a hung server).
        trickle: seconds between the bytes of a never-ending header (a slow-loris server).
        seen_headers: the headers of the last request.
    """

    def __init__(self, certfile=None):
        import http.server
        import ssl
        import threading

        stub = self
        self.status, self.body, self.delay, self.seen_headers = 200, b"ok", 0.0, {}
        self.trickle = 0.0
        self._release = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                stub.seen_headers = dict(self.headers)
                if stub.delay:
                    stub._release.wait(stub.delay)
                if stub.trickle:
                    for byte in b"HTTP/1.0 200 OK\r\nX-Slow: " + b"a" * 200:
                        if stub._release.wait(stub.trickle):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                self.send_response(stub.status)
                self.send_header("Content-Length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self):
        """Stop serving and free the port; a delayed answer is released."""
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def free_port():
    """A TCP port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def python_child(pids, code, ready=True):
    """Run ``code`` in a child Python; wait for its first output line when ``ready``.

    The child is registered with the ``pids`` fixture, so it is killed at teardown.
    """
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    pids.add(proc.pid)
    if ready:
        proc.stdout.readline()
    return proc
