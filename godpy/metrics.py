"""Prometheus metrics: ``--metrics HOST:PORT`` or ``God.metrics_address`` serves ``/metrics``.

The text format belongs to ``prometheus_client``; it is imported here alone, and only when
metrics are on: the CLI client and a daemon without metrics never load it. The collector
reads task snapshots on the HTTP thread, as ``status`` does on a control thread; it never
changes a task.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from godpy import system

#: Requests served at once; more are closed at once (a scraper needs one, an HA pair two).
MAX_CLIENTS = 8
#: Seconds a client may take to send its request.
CLIENT_TIMEOUT = 10.0
_LABELS = ["watch", "group"]


@dataclass(frozen=True)
class Address:
    """Where metrics are served, and who asked for it (``--metrics`` or file:line).

    Equal addresses compare equal wherever they were set, so that a ``godpy load`` of a
    file that sets the same one is not a change.
    """

    host: str
    port: int
    where: str = field(default="--metrics", compare=False)

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return repr(str(self))


def parse_address(text, where: str = "--metrics") -> Address:
    """``127.0.0.1:9101``, ``[::1]:9101`` or ``localhost:9101`` as an Address.

    Raises:
        ValueError: one line saying what is wrong and what is expected.
    """
    example = "such as 127.0.0.1:9101 or [::1]:9101"
    if not isinstance(text, str):
        raise ValueError(f"metrics address must be a string HOST:PORT, {example}")
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"metrics address {text!r}: put an IPv6 host in brackets, {example}")
    if not sep or not host:
        raise ValueError(
            f"metrics address {text!r}: expected HOST:PORT, {example} (0.0.0.0:9101 for "
            "every interface)"
        )
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"metrics address {text!r}: port must be 1-65535, {example}")
    return Address(host, int(port), where)


class WatchCollector:
    """The per-watch series, read from task snapshots at each scrape.

    ``godpy_watch_state`` has one series per watch, its current state: every state at 0
    or 1 would make it 8 (most of the samples, and the encoder's time is per sample), and
    Prometheus marks the series of the state left stale at the next scrape.

    Args:
        tasks: returns the daemon's tasks (a list taken at the call).
    """

    def __init__(self, tasks):
        self._tasks = tasks

    def collect(self):
        """One family per series; a watch whose process is gone has no process series."""
        up, state, restarts, code, rss, cpu = families = _families()
        for task in sorted(self._tasks(), key=lambda t: t.name):
            snap = task.snapshot()
            labels = [task.name, task.group or ""]
            state.add_metric([*labels, snap["state"]], 1.0)
            process = getattr(task, "process", None)
            if process is None:
                continue  # a generic task: no process
            up.add_metric(labels, float(snap["state"] == "up" and snap["pid"] is not None))
            restarts.add_metric(labels, snap["restarts"])
            if process.last_code is not None:
                code.add_metric(labels, process.last_code)
            if snap["pid"] is not None:
                _add_usage(snap["pid"], labels, rss, cpu)
        return families


def _families() -> list:
    """The empty families of the per-watch series, in the order they are served."""
    from prometheus_client.core import CounterMetricFamily as Counter
    from prometheus_client.core import GaugeMetricFamily as Gauge

    return [
        Gauge("godpy_watch_up", "1 when the watch is up with a live process.", labels=_LABELS),
        Gauge(
            "godpy_watch_state",
            "1 for the state status shows (the other states have no series).",
            labels=[*_LABELS, "state"],
        ),
        Counter("godpy_watch_restarts", "Starts after the first, for any reason.", labels=_LABELS),
        Gauge(
            "godpy_watch_last_exit_code",
            "Exit code of the last exit; -N when killed by signal N.",
            labels=_LABELS,
        ),
        Gauge(
            "godpy_process_resident_memory_bytes",
            "Resident memory of the watched process.",
            labels=_LABELS,
        ),
        Counter(
            "godpy_process_cpu_seconds",
            "User and system CPU time of the watched process.",
            labels=_LABELS,
        ),
    ]


def _add_usage(pid: int, labels: list[str], rss, cpu) -> None:
    try:
        _started, resident, seconds = system.usage(pid)
    except (OSError, ValueError, IndexError):
        return  # gone since the snapshot, or not ours to read
    rss.add_metric(labels, resident)
    cpu.add_metric(labels, seconds)


class MetricsServer:
    """Serves ``/metrics`` on ``address`` from a thread of its own (404 elsewhere).

    Args:
        address: where to listen.
        tasks: returns the daemon's tasks.
    """

    def __init__(self, address: Address, tasks):
        self.address = address
        self._tasks = tasks
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve.

        Raises:
            RuntimeError: the address cannot be bound; the message names it and who set it.
        """
        from prometheus_client import CollectorRegistry, ProcessCollector

        registry = CollectorRegistry()
        ProcessCollector(registry=registry)  # the daemon's own process_* series
        registry.register(WatchCollector(self._tasks))
        try:
            self._httpd = _Server(self.address, registry)
        except OSError as exc:
            raise RuntimeError(
                f"{self.address.where}: cannot serve metrics on {self.address}: "
                f"{exc.strerror or exc}; choose another HOST:PORT"
            ) from None
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="metrics", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port bound (the one asked for)."""
        return self._httpd.server_address[1]

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
        self._httpd = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: Address, registry):
        infos = socket.getaddrinfo(
            address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        self.address_family = infos[0][0]
        self.registry = registry
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        super().__init__(infos[0][4][:2], _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:  # [::1] binds ::1 only
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # a scraper needs one; refuse a flood
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Handler(BaseHTTPRequestHandler):
    timeout = CLIENT_TIMEOUT

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        from prometheus_client.exposition import choose_encoder

        if self.path.split("?", 1)[0] != "/metrics":
            self.send_error(404, explain="metrics are at /metrics")
            return
        encoder, content_type = choose_encoder(self.headers.get("Accept"))
        body = encoder(self.server.registry)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # noqa: A002 (http.server's name)
        pass  # a scrape every 15 s is not worth a log line
