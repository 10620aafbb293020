"""clean_unix_socket: a stale socket file is deleted before start, so the server binds."""

import socket
import sys

import pytest
from behavior_helpers import make_watch
from conftest import wait_until

SERVER = (
    "import socket, sys, time; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); "
    "s.listen(); time.sleep(30)"
)


def stale_socket(path):
    """Leave a socket file behind, as a crashed server does."""
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()


def connects(path):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        return True


@pytest.mark.integration
def test_stale_socket_is_deleted_and_the_server_binds(tmp_path, pids, godlog):
    """The server would fail with 'Address already in use'; with the behavior it listens."""
    path = tmp_path / "app.sock"
    stale_socket(path)
    w = make_watch(
        tmp_path,
        pids,
        [sys.executable, "-c", SERVER, str(path)],
        [("clean_unix_socket", {})],
        unix_socket=str(path),
    )
    w.action("start")
    assert wait_until(lambda: connects(path), 10, what="the server to accept on its socket")
    assert f"app before_start: deleted unix socket {path} (CleanUnixSocket)" in godlog.text
    w.action("stop")


@pytest.mark.integration
def test_without_the_behavior_the_server_cannot_bind(tmp_path, pids):
    """Control: the stale file makes the same server exit at once."""
    path = tmp_path / "app.sock"
    stale_socket(path)
    w = make_watch(tmp_path, pids, [sys.executable, "-c", SERVER, str(path)], unix_socket=str(path))
    w.action("start")
    wait_until(lambda: w.process.current_pid() is None, 10, what="the server to fail to bind")
    assert w.process.last_exit == "exited with code 1"


@pytest.mark.integration
def test_a_regular_file_is_left_alone_and_reported(tmp_path, pids, godlog):
    """Something that is not a socket is never deleted; the error is one log line."""
    path = tmp_path / "app.sock"
    path.write_text("precious")
    w = make_watch(tmp_path, pids, "sleep 30", [("clean_unix_socket", {})], unix_socket=str(path))
    w.action("start")
    assert path.read_text() == "precious"
    assert (
        f"app before_start failed in behavior clean_unix_socket: {path} is not a unix socket; "
        "left alone" in godlog.text
    )
    assert "Traceback" not in godlog.text
    w.action("stop")


def test_no_socket_file_is_reported(tmp_path, pids, godlog):
    """Nothing to delete is said plainly."""
    w = make_watch(
        tmp_path, pids, "sleep 30", [("clean_unix_socket", {})], unix_socket=str(tmp_path / "s")
    )
    w.run_hooks("before", "start")
    assert f"no unix socket to delete ({tmp_path}/s)" in godlog.text


def test_invalid_configuration_message(tmp_path, pids):
    """The watch must set unix_socket."""
    w = make_watch(tmp_path, pids, "sleep 30", [("clean_unix_socket", {})])
    assert w.valid() == [
        "watch 'app': behavior clean_unix_socket: watch 'app' has no unix_socket; "
        "set w.unix_socket = '/path/to/app.sock'"
    ]
