"""wait_for_port: start is left only once the process listens on its port."""

import socket
import sys
import time

import pytest
from behavior_helpers import make_watch

from godpy.task import Task

# Listen on argv[1] after argv[2] seconds; with argv[3] == "child", a child listens.
SERVER = """
import socket, subprocess, sys, time
port, delay = int(sys.argv[1]), float(sys.argv[2])
if sys.argv[3:] == ["child"]:
    subprocess.Popen([sys.executable, __file__, sys.argv[1], sys.argv[2]])
    time.sleep(30)
time.sleep(delay)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen()
time.sleep(30)
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server(tmp_path, port, delay, *extra):
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    return [sys.executable, str(script), str(port), str(delay), *extra]


def accepts(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


@pytest.mark.integration
@pytest.mark.parametrize("who", ["process", "child"])
def test_start_returns_once_the_port_listens(tmp_path, pids, godlog, who):
    """A server listening after 0.5 s: start takes that long and the port then accepts."""
    port = free_port()
    argv = server(tmp_path, port, 0.5, *(["child"] if who == "child" else []))
    w = make_watch(tmp_path, pids, argv, [("wait_for_port", {"port": port})])
    begun = time.monotonic()
    w.action("start")
    assert time.monotonic() - begun >= 0.4
    assert accepts(port)
    assert f"app after_start: port {port} listening after " in godlog.text
    w.action("stop")


@pytest.mark.integration
def test_timeout_is_logged_and_start_goes_on(tmp_path, pids, godlog):
    """A port that never opens: one error line after `timeout`, the process left running."""
    port = free_port()
    w = make_watch(
        tmp_path,
        pids,
        server(tmp_path, port, 60),
        [("wait_for_port", {"port": port, "timeout": 0.5})],
    )
    begun = time.monotonic()
    w.action("start")
    assert 0.5 <= time.monotonic() - begun < 30  # the timeout; not the server's 60 s
    assert (
        f"app after_start failed in behavior wait_for_port: port {port} not listening after "
        f"0.5s (pid {w.pid})" in godlog.text
    )
    w.action("stop")


@pytest.mark.integration
def test_a_process_that_exits_ends_the_wait_at_once(tmp_path, pids, godlog):
    """No waiting out the timeout for a process that is gone."""
    w = make_watch(
        tmp_path,
        pids,
        [sys.executable, "-c", "pass"],
        [("wait_for_port", {"port": 1, "timeout": 120})],
    )
    begun = time.monotonic()
    w.action("start")
    assert time.monotonic() - begun < 60  # not the 120 s timeout
    assert "before listening on port 1" in godlog.text


def test_invalid_configuration_messages(tmp_path, pids):
    """A bad port and timeout on a watch; a generic task has no process."""
    w = make_watch(tmp_path, pids, "true", [("wait_for_port", {"port": 70000, "timeout": 0})])
    assert w.valid() == [
        "watch 'app': behavior wait_for_port: port must be an integer from 1 to 65535, not 70000",
        "watch 'app': behavior wait_for_port: timeout must be positive",
    ]
    t = Task(name="t", valid_states=["a"], initial_state="a")
    t.behavior("wait_for_port")
    assert t.valid() == [
        "task 't': behavior wait_for_port: 'port' is required",
        "task 't': behavior wait_for_port: needs a watch; task 't' has no process",
    ]
