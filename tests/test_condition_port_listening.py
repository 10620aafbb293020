"""port_listening: the watched process itself (or its child) listens on the port."""

import socket

import pytest
from condition_kit import bound, config_problems, free_port, python_child
from conftest import wait_until
from godpy.conditions.port_listening import PortListening

LISTEN_LATER = """
import socket, sys, time
print("started", flush=True)
time.sleep(0.2)
s = socket.create_server(("127.0.0.1", {port}))
time.sleep(60)
"""


def test_becomes_true_once_the_process_listens(pids):
    """False while the server is still starting, true once it listens."""
    port = free_port()
    proc = python_child(pids, LISTEN_LATER.format(port=port))
    cond = bound(PortListening, proc.pid, port=port)
    assert cond.check() is False
    assert cond.info == f"process {proc.pid} does not listen on {port}"
    wait_until(cond.check, timeout=10, interval=0.05)
    assert cond.info == f"process {proc.pid} listens on {port}"


def test_another_process_on_the_port_does_not_count(pids):
    """A port held by someone else is not our process listening."""
    with socket.create_server(("127.0.0.1", 0)) as other:
        proc = python_child(pids, "print(1, flush=True); import time; time.sleep(60)")
        assert bound(PortListening, proc.pid, port=other.getsockname()[1]).check() is False


def test_tree_finds_a_server_started_by_a_wrapper(pids):
    """A shell wrapper's child listening counts with tree (the default), not without."""
    port = free_port()
    wrapper = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-c', {LISTEN_LATER.format(port=port)!r}],"
        " stdout=subprocess.PIPE)\n"
        "child.stdout.readline(); print(child.pid, flush=True); child.wait()\n"
    )
    proc = python_child(pids, wrapper, ready=False)
    pids.add(int(proc.stdout.readline()))
    cond = bound(PortListening, proc.pid, port=port)
    wait_until(cond.check, timeout=10, interval=0.05)
    assert bound(PortListening, proc.pid, port=port, tree=False).check() is False


def test_listening_false_fires_when_it_stops_listening(pids):
    """listening=False triggers when the process does not listen (or is gone)."""
    proc = python_child(pids, "print(1, flush=True); import time; time.sleep(60)")
    assert bound(PortListening, proc.pid, port=free_port(), listening=False).check() is True
    assert bound(PortListening, None, port=80, listening=False).check() is True
    assert bound(PortListening, None, port=80).check() is False


@pytest.mark.parametrize(
    "attrs, message",
    [("", "'port' is required"), ("port=70000", "port must be 1-65535, got 70000")],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake is reported against condition port_listening."""
    text = config_problems(
        tmp_path,
        f'with w.transition("start", "up") as on:\n    on.condition("port_listening", {attrs})\n',
    )
    assert f"condition port_listening: {message}" in text
