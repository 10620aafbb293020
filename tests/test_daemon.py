"""Daemon in-process: lost exit events are recovered by re-checking every watch."""

import os
import signal

import pytest
from conftest import PROBE, alive, needs_root, read_pid, wait_until

from godpy.daemon import Daemon


@pytest.fixture
def daemon(tmp_path, pids):
    """A loaded and started in-process daemon with two watches polling every 30 s."""
    cfg = tmp_path / "app.god.py"
    cfg.write_text(
        "import sys\nfrom godpy import God\n"
        f"God.pid_file_directory = {str(tmp_path / 'pids')!r}\n"
        "for n in range(2):\n"
        "    with God.watch() as w:\n"
        "        w.name = f'p{n}'\n"
        f"        w.start = [sys.executable, {PROBE!r}, {str(tmp_path)!r} + f'/p{{n}}.rec']\n"
        "        w.keepalive(interval=30)\n"
    )
    d = Daemon(str(cfg))
    d.load()
    d.start()
    yield d
    d.terminate()


@needs_root
def test_overflow_recheck_restarts_a_process_whose_exit_event_was_lost(daemon, tmp_path, pids):
    """After ENOBUFS the daemon re-checks every watch, so a lost exit is noticed at once."""
    assert daemon.events.loaded
    pid_file = tmp_path / "pids" / "p0.pid"
    old = wait_until(lambda: read_pid(pid_file))
    pids.add(old)
    wait_until(lambda: daemon.tasks["p0"].state == "up")
    with daemon.events._lock:
        daemon.events._callbacks.clear()  # as if the kernel had dropped the exit events
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: not alive(old))
    daemon.events.backend._on_overflow()
    new = wait_until(lambda: read_pid(pid_file) not in (None, old) and read_pid(pid_file))
    pids.add(new)
    wait_until(lambda: daemon.tasks["p0"].state == "up")


def test_terminate_returns_0_and_leaves_no_process(daemon, tmp_path, pids):
    """terminate() stops every watch's process and returns 0."""
    started = [wait_until(lambda n=n: read_pid(tmp_path / "pids" / f"p{n}.pid")) for n in (0, 1)]
    for pid in started:
        pids.add(pid)
    assert daemon.terminate() == 0
    assert not any(alive(pid) for pid in started)
