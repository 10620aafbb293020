"""One HTTP GET with a deadline for the whole exchange, for the HTTP conditions."""

from __future__ import annotations

import io
import time


def get(host, port, path="/", headers=None, timeout=10.0, ssl=False, ca_file=None, limit=0):
    """GET ``path`` and return ``(status, body)``; the body is read up to ``limit`` bytes.

    Connecting, sending and reading together take at most about ``timeout`` seconds: each
    socket operation gets only the time left, so a server that trickles its answer a byte
    at a time cannot hold the check past the deadline. Without ``ca_file`` a TLS certificate is
    not verified (as God does); with it, the certificate and host name are.

    Raises:
        OSError: connection refused or reset, a timeout (``TimeoutError``), TLS errors.
        http.client.HTTPException: a malformed response.
    """
    deadline = time.monotonic() + timeout

    import http.client  # here, not at import: 20 ms of every daemon's start for a probe
    import ssl as ssl_module

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete answer within {timeout:g}s")
        return remaining

    if ssl:
        context = ssl_module.create_default_context(cafile=ca_file)
        if ca_file is None:
            context.check_hostname = False
            context.verify_mode = ssl_module.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=left(), context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=left())
    try:
        conn.connect()
        conn.request("GET", path, headers=dict(headers or {}))
        # Not conn.getresponse(): its buffered reader gives every recv the whole timeout.
        response = http.client.HTTPResponse(_DeadlineSocket(conn.sock, left), method="GET")
        response.begin()
        chunks, size = [], 0
        while size < limit:
            chunk = response.read1(min(65536, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return response.status, b"".join(chunks)
    finally:
        conn.close()


class _DeadlineSocket:
    """What HTTPResponse needs of a socket: a reader whose every recv gets the time left."""

    def __init__(self, sock, left):
        self._sock, self._left = sock, left

    def makefile(self, mode="rb"):
        return io.BufferedReader(_DeadlineReader(self._sock, self._left))


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock, left):
        self._sock, self._left = sock, left

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._sock.settimeout(self._left())
        return self._sock.recv_into(buffer)
