"""socket_responding: real TCP and Unix listeners that go away."""

import os
import socket
import time

import pytest
from condition_kit import bound, config_problems, free_port
from godpy.conditions.socket_responding import SocketResponding


@pytest.fixture
def tcp():
    sock = socket.create_server(("127.0.0.1", 0))
    yield sock
    sock.close()


def test_tcp_listener_closing_fires(tcp):
    """Default responding=False: quiet while it listens, true once it is gone."""
    port = tcp.getsockname()[1]
    cond = bound(SocketResponding, port=port, timeout=1)
    assert cond.check() is False
    assert cond.info == f"socket tcp:127.0.0.1:{port} responding"
    tcp.close()
    assert cond.check() is True
    assert cond.info == f"socket tcp:127.0.0.1:{port} not responding (Connection refused)"


def test_responding_true_fires_while_it_listens(tcp):
    """responding=True triggers on a successful connection."""
    assert bound(SocketResponding, port=tcp.getsockname()[1], responding=True).check() is True


def test_unix_socket(tmp_path):
    """family unix: a listening socket file responds; removed, it does not."""
    path = str(tmp_path / "app.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    try:
        cond = bound(SocketResponding, family="unix", path=path)
        assert cond.check() is False
    finally:
        server.close()
        os.unlink(path)
    assert cond.check() is True
    assert "not responding" in cond.info


@pytest.mark.parametrize(
    "shorthand, family, addr, port, path",
    [
        ("tcp:8080", "tcp", "127.0.0.1", 8080, None),
        ("tcp:10.0.0.5:6379", "tcp", "10.0.0.5", 6379, None),
        ("unix:/run/app.sock", "unix", "127.0.0.1", None, "/run/app.sock"),
    ],
)
def test_gods_socket_shorthand(shorthand, family, addr, port, path):
    """socket='tcp:PORT' / 'tcp:ADDR:PORT' / 'unix:/path' set the long attributes."""
    cond = bound(SocketResponding, socket=shorthand)
    assert (cond.family, cond.addr, cond.port, cond.path) == (family, addr, port, path)


def test_checks_close_their_sockets(tcp):
    """Many checks leave no descriptor behind (God never closed them)."""
    port = tcp.getsockname()[1]
    cond = bound(SocketResponding, port=port)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        cond.check()
    for _ in range(50):
        bound(SocketResponding, port=free_port()).check()
    assert len(os.listdir("/proc/self/fd")) <= before + 1


def test_connect_waits_at_most_timeout():
    """A listener whose backlog is full never answers: the check costs only timeout."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as full:
        port = full.getsockname()[1]
        filler = socket.create_connection(("127.0.0.1", port))  # fills the backlog
        try:
            cond = bound(SocketResponding, port=port, timeout=0.2)
            started = time.monotonic()
            assert cond.check() is True
            assert time.monotonic() - started < 10.0  # bounded, not stuck
            assert cond.info.endswith("not responding (timed out)")
        finally:
            filler.close()


@pytest.mark.parametrize(
    "attrs, message",
    [
        ("", "tcp needs a port (1-65535), got None"),
        ("family='udp', port=53", "family must be 'tcp' or 'unix', got 'udp'"),
        ("family='unix'", "unix needs a path"),
        ("socket='tcp:http'", "tcp needs a port (1-65535), got 'http'"),
        ("socket='tpc:80'", "family must be 'tcp' or 'unix', got 'tpc' (from socket='tpc:80')"),
        ("port=80, timeout=0", "timeout must be positive"),
        ("port=80, send=5", "send must be text or bytes"),
        ("port=80, expect=''", "expect must not be empty"),
    ],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake is reported against condition socket_responding."""
    text = config_problems(
        tmp_path, f'with w.restart_if() as on:\n    on.condition("socket_responding", {attrs})\n'
    )
    assert f"condition socket_responding: {message}" in text


PONG_SERVER = """
import socket, sys
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    with conn:
        if conn.recv(64).startswith(b"PING"):
            conn.sendall(b"+PONG\\r\\n")
"""


@pytest.fixture
def pong(pids):
    """A real server answering PING with +PONG, in a child process: (popen, port)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", PONG_SERVER], stdout=subprocess.PIPE, text=True)
    pids.add(proc.pid)
    port = int(proc.stdout.readline())
    yield proc, port
    proc.kill()
    proc.wait()


def test_send_expect_passes_against_a_live_server(pong):
    """send/expect: a server that answers as expected responds."""
    _proc, port = pong
    cond = bound(SocketResponding, port=port, send="PING\r\n", expect="+PONG", timeout=5)
    assert cond.check() is False
    assert cond.info == f"socket tcp:127.0.0.1:{port} responding"


def test_send_expect_catches_a_frozen_server(pong):
    """A SIGSTOPped server still accepts connections (the kernel's backlog), so a connect
    alone sees it responding; with expect, no reply within timeout is not responding."""
    import signal

    proc, port = pong
    proc.send_signal(signal.SIGSTOP)
    try:
        assert bound(SocketResponding, port=port, timeout=0.5).check() is False  # connect-only
        cond = bound(SocketResponding, port=port, send=b"PING\r\n", expect=b"+PONG", timeout=0.5)
        assert cond.check() is True
        assert cond.info == f"socket tcp:127.0.0.1:{port} not responding (timed out)"
    finally:
        proc.send_signal(signal.SIGCONT)


def test_expect_with_a_wrong_reply_is_not_responding(pong):
    """A reply that does not start with expect fails, and the info shows both."""
    _proc, port = pong
    cond = bound(SocketResponding, port=port, send="PING\r\n", expect="+OK", timeout=5)
    assert cond.check() is True
    assert "not responding (expected b'+OK', got b'+P" in cond.info
