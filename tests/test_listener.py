"""The control socket's connection loop keeps its bounds against real peers on a real
Unix socket: idle and slow peers are dropped, refused uids cost a close, a full house
evicts the idlest, and no error stops the loop."""

import logging
import os
import socket
import struct
import threading

import pytest
from conftest import wait_until

from godpy.listener import Limits, Listener

pytestmark = pytest.mark.integration

_LENGTH = struct.Struct("!I")


def frame(buffer):
    """Messages are a 4-byte length, then that many bytes ("BAD!" is no message)."""
    if buffer[:4] == b"BAD!":
        raise ValueError("bad bytes")
    if len(buffer) < 4:
        return None
    return 4 + _LENGTH.unpack_from(buffer)[0]


def pack(payload):
    """A message of ``payload``."""
    return _LENGTH.pack(len(payload)) + payload


class Echo:
    """A handler answering each message upper-cased; ``raise`` raises, ``big`` answers 64 MB,
    ``wait`` blocks until ``release`` is set."""

    def __init__(self):
        self.seen = []
        self.release = threading.Event()

    def __call__(self, session, message):
        payload = message[4:]
        self.seen.append(payload)
        if payload == b"raise":
            raise RuntimeError("handler bug")
        if payload == b"big":
            return pack(b"x" * (64 << 20)), True
        if payload == b"wait":
            self.release.wait(30)
        session["count"] = session.get("count", 0) + 1
        return pack(payload.upper() + b" %d" % session["count"]), True


@pytest.fixture
def serve(tmp_path):
    """``serve(allowed=..., **limits)`` starts a Listener on a fresh socket; returns
    (listener, handler, path). Every listener is stopped at teardown."""
    started = []

    def start(allowed=None, on_refused=lambda uid: None, **limits):
        path = str(tmp_path / f"l{len(started)}.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(256)
        handler = Echo()
        defaults = {"idle_timeout": 30.0, "message_timeout": 30.0, "max_message": 1 << 20}
        listener = Listener(
            sock,
            {os.geteuid()} if allowed is None else allowed,
            frame,
            handler,
            on_refused,
            Limits(**{**defaults, **limits}),
        )
        listener.start()
        started.append((listener, handler))
        return listener, handler, path

    yield start
    for listener, handler in started:
        handler.release.set()
        listener.stop(grace=0.5)


def connect(path, timeout=10.0):
    """A client socket connected to ``path``, with a timeout on every operation."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def ask(sock, payload):
    """Send one message and return the answer's payload."""
    sock.sendall(pack(payload))
    size = _LENGTH.unpack(read_exactly(sock, 4))[0]
    return read_exactly(sock, size)


def read_exactly(sock, size):
    """``size`` bytes from ``sock`` (raises EOFError when it closes first)."""
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def closed_by_server(sock):
    """True once the server has closed ``sock`` (EOF or reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_answers_several_messages_on_one_connection(serve):
    """A connection is served message after message; its session dict is its own."""
    _, _, path = serve()
    with connect(path) as a, connect(path) as b:
        assert ask(a, b"hi") == b"HI 1"
        assert ask(a, b"again") == b"AGAIN 2"
        assert ask(b, b"other") == b"OTHER 1"


def test_idle_connection_is_closed_after_idle_timeout(serve):
    """A peer that sends nothing is closed after idle_timeout, without holding a thread."""
    listener, _, path = serve(idle_timeout=0.3)
    with connect(path) as idle:
        assert wait_until(lambda: closed_by_server(idle), 20, what="idle peer closed")
    assert wait_until(lambda: listener.connections == 0, 10, what="no connection left")


def test_idle_timeout_starts_again_after_each_answer(serve):
    """A served connection gets a fresh idle_timeout after its answer."""
    _, _, path = serve(idle_timeout=0.3)
    with connect(path) as sock:
        assert ask(sock, b"one") == b"ONE 1"
        assert wait_until(lambda: closed_by_server(sock), 20, what="closed once idle")


def test_slow_message_is_closed_after_message_timeout(serve, godlog):
    """A peer that starts a message and trickles no more is closed (slow-loris)."""
    listener, handler, path = serve(message_timeout=0.3)
    with connect(path) as slow:
        slow.sendall(_LENGTH.pack(100) + b"abc")
        assert wait_until(lambda: closed_by_server(slow), 20, what="slow peer closed")
    assert handler.seen == []
    assert "whose message took over 0.3s" in godlog.text


def test_peer_that_does_not_read_its_answer_is_dropped(serve):
    """A reply the peer does not take within message_timeout is abandoned; the worker is
    free again and the next peer is served."""
    _, _, path = serve(message_timeout=0.5, workers=1)
    with connect(path) as greedy:
        greedy.sendall(pack(b"big"))
        with connect(path) as next_peer:
            assert ask(next_peer, b"after") == b"AFTER 1"
        with pytest.raises((EOFError, ConnectionResetError)):
            read_exactly(greedy, 4 + (64 << 20))


def test_refused_uid_is_closed_before_anything_is_read(serve):
    """A peer whose uid is not allowed is closed at accept: nothing it sent is read or
    framed; a flood of refusals is reported once per refusal_log period."""
    refused = []
    listener, handler, path = serve(allowed={os.geteuid() + 4242}, on_refused=refused.append)
    for _ in range(50):
        with connect(path) as peer:
            try:
                peer.sendall(pack(b"hello"))
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert wait_until(lambda peer=peer: closed_by_server(peer), 10, what="closed")
    assert handler.seen == []
    assert refused == [os.geteuid()]
    assert listener.connections == 0


def test_message_too_large_is_refused_from_its_header(serve, godlog):
    """A header announcing more than max_message closes the connection unread."""
    _, handler, path = serve(max_message=1000)
    with connect(path) as peer:
        peer.sendall(_LENGTH.pack(50 << 20) + b"x" * 1000)
        assert wait_until(lambda: closed_by_server(peer), 10, what="closed")
    assert handler.seen == []
    assert "message of 52428804 bytes (at most 1000)" in godlog.text


def test_full_house_evicts_the_longest_idle(serve):
    """At max_connections a new peer evicts the one idle the longest and is served."""
    listener, _, path = serve(max_connections=5)
    peers = [connect(path) for _ in range(5)]
    try:
        wait_until(lambda: listener.connections == 5, 10, what="5 connections")
        with connect(path) as newcomer:
            assert ask(newcomer, b"in") == b"IN 1"
        assert wait_until(lambda: closed_by_server(peers[0]), 10, what="oldest evicted")
    finally:
        for peer in peers:
            peer.close()


def test_hundred_idle_peers_do_not_block_a_command(serve):
    """100 idle connections (more than the connection and worker bounds) leave the
    socket answering."""
    _, _, path = serve(max_connections=64, workers=4)
    peers = [connect(path) for _ in range(100)]
    try:
        with connect(path) as sock:
            assert ask(sock, b"status") == b"STATUS 1"
    finally:
        for peer in peers:
            peer.close()


def test_handler_error_is_logged_and_the_loop_goes_on(serve, godlog):
    """A handler that raises closes that connection, logs the traceback, and serves on."""
    _, _, path = serve(workers=1)
    with connect(path) as peer:
        peer.sendall(pack(b"raise"))
        assert wait_until(lambda: closed_by_server(peer), 10, what="closed")
    with connect(path) as peer:
        assert ask(peer, b"still") == b"STILL 1"
    record = next(r for r in godlog.records if "a request failed" in r.getMessage())
    assert record.levelno == logging.ERROR and record.exc_info[0] is RuntimeError


def test_garbage_and_half_messages_do_not_stop_the_loop(serve):
    """Bad bytes, a peer closing mid-header or mid-message, and an instant hang-up each
    cost their own connection only."""
    _, _, path = serve()
    for data in (b"BAD!", b"\x00\x00", pack(b"abc")[:-1], b""):
        with connect(path) as peer:
            if data:
                peer.sendall(data)
    with connect(path) as peer:
        peer.sendall(b"BAD!")
        assert wait_until(lambda: closed_by_server(peer), 10, what="closed")
    with connect(path) as peer:
        assert ask(peer, b"fine") == b"FINE 1"


def test_stop_lets_a_running_command_answer(serve, tmp_path):
    """stop() closes the listening socket at once but gives a running command its answer."""
    listener, handler, path = serve()
    with connect(path) as peer:
        peer.sendall(pack(b"wait"))
        wait_until(lambda: handler.seen == [b"wait"], 10, what="command running")
        stopper = threading.Thread(target=listener.stop, kwargs={"grace": 20.0})
        stopper.start()
        wait_until(lambda: _refuses(path), 10, what="listening socket closed")
        handler.release.set()
        size = _LENGTH.unpack(read_exactly(peer, 4))[0]
        assert read_exactly(peer, size) == b"WAIT 1"
        stopper.join(30)
        assert not stopper.is_alive()


def _refuses(path):
    try:
        connect(path, 1).close()
    except OSError:
        return True
    return False
