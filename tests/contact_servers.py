"""Real servers for contact tests: an HTTP sink, a server that never answers, an SMTP server.

Each is a context manager listening on 127.0.0.1 and recording what it received.
"""

import email
import email.policy
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def free_port():
    """A TCP port free at the moment of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HttpSink:
    """An HTTP server recording every POST; answers with ``statuses`` in turn, then 200.

    Attributes:
        requests: dicts with ``path``, ``headers``, ``body`` (bytes) and ``at`` (monotonic).
    """

    def __init__(self, statuses=()):
        self.requests = []
        self.statuses = list(statuses)
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink._lock:
                    sink.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "at": time.monotonic(),
                        }
                    )
                    status = sink.statuses.pop(0) if sink.statuses else 200
                answer = b"ok" if status < 400 else b"server says no"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts connections and reads requests, but never answers until closed.

    Attributes:
        received: the bytes each connection sent so far.
    """

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.received = []
        self._conns = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self._closed.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            index = len(self.received)
            self.received.append(b"")
            threading.Thread(target=self._read, args=(conn, index), daemon=True).start()

    def _read(self, conn, index):
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.received[index] += data

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._closed.set()
        self.sock.close()
        for conn in self._conns:
            conn.close()


class SmtpServer:
    """A real SMTP server (aiosmtpd) keeping every message it accepts.

    Args:
        **kwargs: passed to aiosmtpd's Controller (tls_context, authenticator, ...).

    Attributes:
        messages: ``(mail_from, rcpt_tos, email.message.EmailMessage)`` tuples.
    """

    def __init__(self, reply="250 OK", **kwargs):
        from aiosmtpd.controller import Controller

        self.messages = []
        self.port = free_port()
        server = self

        class Handler:
            async def handle_DATA(self, srv, session, envelope):  # noqa: N802 (aiosmtpd's name)
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                server.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
                return reply

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def self_signed_cert(folder):
    """(cert, key) paths of a fresh self-signed certificate for ``localhost``."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def message(**fields):
    """A notification message as the notifier builds it, with overrides."""
    base = {
        "watch": "web-8080",
        "group": "web",
        "message": "web-8080 [trigger] process 4242 exited with code 1 (ProcessExits)",
        "time": "2026-11-22T04:37:24+00:00",
        "priority": "1",
        "category": "crash",
        "host": "box1",
        "condition": "ProcessExits",
        "contact": "ops",
        "suppressed": 0,
    }
    base.update(fields)
    return base
