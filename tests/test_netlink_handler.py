"""Netlink backend: decoding exit events, real exits, threads, and socket overflow."""

import os
import socket
import struct
import subprocess
import sys
import threading

import pytest
from conftest import needs_root, wait_until

from godpy.netlink_handler import (
    PROC_EVENT_EXIT,
    NetlinkHandler,
    attach_exit_filter,
    parse_exits,
    proc_event_socket_class,
)


def _datagram(what, pid, tgid, status):
    body = struct.pack("=IIQ IIII", what, 0, 123, pid, tgid, status, 17)
    cn = struct.pack("=IIIIHH", 1, 1, 7, 0, len(body), 0)
    total = 16 + len(cn) + len(body)
    return struct.pack("=IHHII", total, 3, 0, 7, 0) + cn + body


def test_parse_exits_decodes_pid_tgid_and_status():
    """An exit datagram yields its pid, tgid and raw wait status."""
    assert list(parse_exits(_datagram(PROC_EVENT_EXIT, 42, 42, 9))) == [(42, 42, 9)]


def test_parse_exits_ignores_other_events_and_truncated_data():
    """Fork/exec events and short datagrams yield nothing."""
    assert list(parse_exits(_datagram(0x00000001, 42, 42, 0))) == []
    assert list(parse_exits(_datagram(PROC_EVENT_EXIT, 42, 42, 0)[:30])) == []


def test_parse_exits_reads_several_messages_in_one_datagram():
    """Back-to-back netlink messages in one datagram are all decoded."""
    data = _datagram(PROC_EVENT_EXIT, 1, 1, 0) + _datagram(PROC_EVENT_EXIT, 2, 2, 256)
    assert list(parse_exits(data)) == [(1, 1, 0), (2, 2, 256)]


@pytest.fixture
def handler():
    """A started netlink handler recording exits; stopped at teardown."""
    exits, overflows = {}, []
    h = NetlinkHandler(lambda pid, payload: exits.setdefault(pid, payload), overflows.append)
    h.exits, h.overflow_calls = exits, overflows
    h.start()
    yield h
    h.stop()


@needs_root
def test_real_exit_is_reported_with_its_wait_status(handler):
    """A child killed by SIGKILL shows up with status 9; one exiting 3 with 3 << 8."""
    killed = subprocess.Popen(["sleep", "30"])
    killed.kill()
    killed.wait()
    quitter = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    quitter.wait()
    wait_until(lambda: killed.pid in handler.exits and quitter.pid in handler.exits)
    assert handler.exits[killed.pid]["status"] & 0x7F == 9
    assert handler.exits[quitter.pid]["status"] >> 8 == 3


@needs_root
def test_thread_exits_are_not_reported_as_process_exits(handler):
    """A thread ending inside a live process does not look like the process exiting."""
    code = (
        "import threading,sys,time\n"
        "t=threading.Thread(target=lambda: None); t.start(); t.join()\n"
        "print(t.native_id, flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        tid = int(proc.stdout.readline())
        marker = subprocess.Popen(["true"])
        marker.wait()
        wait_until(lambda: marker.pid in handler.exits)
        assert tid not in handler.exits and proc.pid not in handler.exits
    finally:
        proc.kill()
        proc.wait()


@needs_root
def test_the_kernel_hands_on_only_process_exits():
    """With the socket filter, forks, execs and thread exits never reach the socket:
    every datagram read is the exit of a process."""
    sock = proc_event_socket_class()()
    try:
        sock.bind()
        sock.control(listen=True)
        attach_exit_filter(sock)
        raw = socket.socket(fileno=os.dup(sock.fileno()))
        raw.setblocking(False)
        code = "import threading; t = threading.Thread(target=lambda: None); t.start(); t.join()"
        child = subprocess.Popen([sys.executable, "-c", code])  # a fork, an exec, a thread
        child.wait()
        marker = subprocess.Popen(["true"])
        marker.wait()
        seen = []

        def read():
            try:
                data = raw.recv(65536)
            except BlockingIOError:
                return False
            seen.append(data)
            return any(pid == marker.pid for d in seen for pid, _, _ in parse_exits(d))

        wait_until(read, what="the marker's exit")
        exits = [e for d in seen for e in parse_exits(d)]
        assert len(exits) == len(seen)  # nothing but exits came through
        assert all(pid == tgid for pid, tgid, _ in exits)  # of processes, not threads
        assert child.pid in [pid for pid, _, _ in exits]
        raw.close()
    finally:
        sock.close()


@needs_root
def test_overflow_is_detected_and_reported():
    """When the reader stalls and the buffer overflows, on_overflow is called (ENOBUFS)."""
    release, overflows, first = threading.Event(), [], threading.Event()

    def on_exit(pid, payload):
        first.set()
        release.wait(30)

    h = NetlinkHandler(on_exit, lambda: overflows.append(1), buffer_size=4096)
    h.start()
    try:
        seed = subprocess.Popen(["true"])
        seed.wait()
        wait_until(first.is_set)
        for _ in range(300):
            subprocess.Popen(["true"]).wait()
        release.set()
        wait_until(lambda: overflows, timeout=20, what="an ENOBUFS overflow")
        assert h.overflows >= 1
    finally:
        release.set()
        h.stop()


@needs_root
def test_stop_wakes_and_joins_the_reader_thread():
    """stop() wakes the thread blocked in select() and joins it."""
    h = NetlinkHandler(lambda *a: None, lambda: None)
    h.start()
    thread = h._thread
    assert thread.is_alive()
    h.stop()
    assert not thread.is_alive()
