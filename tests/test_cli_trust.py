"""The CLI checks whom it talks to before it sends a byte, and a daemon removes only its
own socket (issue 9): fake servers of other uids, swappable folders, symlinks of other
users, and an old daemon exiting after a newer one took its path."""

import os
import socket

import pytest
from cli_helpers import cli, config, kill_probes, start_daemon, wait_all_up, watch
from conftest import needs_root, read_lines, wait_until

pytestmark = pytest.mark.system

EXIT_UNTRUSTED = 5


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


def _app(tmp_path, name="solo"):
    return config(tmp_path, watch(tmp_path, name))


@pytest.fixture
def fake_server(tmp_path):
    """``fake_server(user)``: a socket bound by root in a root-owned 0700 folder, then
    listened on by a forked child running as ``user`` (so SO_PEERCRED names ``user``). The
    child writes to ``fake.rec`` how many bytes each peer sent it. Returns (path, record)."""
    children = []

    def start(user):
        folder = tmp_path / "fake"
        folder.mkdir(mode=0o700)
        path, record = folder / "godpy.sock", tmp_path / "fake.rec"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        out = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        ready_r, ready_w = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover (child)
            try:
                os.setgroups([])
                os.setgid(user.gid)
                os.setuid(user.uid)
                sock.listen(8)
                os.write(ready_w, b"r")
                _record_peers(sock, out)
            finally:
                os._exit(0)
        children.append(child)
        os.close(ready_w)
        sock.close()
        os.close(out)
        with os.fdopen(ready_r, "rb") as ready:
            assert ready.read(1) == b"r", "the fake server did not start"
        return path, record

    yield start
    for child in children:
        os.kill(child, 9)
        os.waitpid(child, 0)


def _record_peers(sock, out):  # pragma: no cover (runs in the fake server's child)
    while True:
        conn, _ = sock.accept()
        conn.settimeout(3)
        try:
            first = conn.recv(65536)
        except OSError:
            first = b""
        os.write(out, f"{len(first)}\n".encode())
        conn.close()


@needs_root
def test_fake_server_of_another_uid_is_refused_before_a_byte_is_sent(throwaway_user, fake_server):
    """A server run by another uid on the socket path (it once made `terminate` report
    success while the real daemon ran on) gets nothing: exit 5 and a clear message."""
    path, record = fake_server(throwaway_user)
    for command in ("terminate", "status"):
        result = cli(command, socket=path)
        assert result.returncode == EXIT_UNTRUSTED, result
        assert result.stdout == ""
        assert result.stderr == (
            f"godpy: untrusted control socket: {path} is served by uid {throwaway_user.uid} "
            f"({throwaway_user.name}), not by root or uid 0 (root): refusing to talk to it "
            "(GODPY_OWNER names another user whose daemon you trust)\n"
        )
    assert wait_until(lambda: read_lines(record) == ["0", "0"], 10, what="two silent peers")


@needs_root
def test_godpy_owner_trusts_that_users_server(throwaway_user, fake_server):
    """With GODPY_OWNER naming the server's user the client talks to it (here: a server
    that hangs up, so exit 4)."""
    path, record = fake_server(throwaway_user)
    result = cli("status", socket=path, env={"GODPY_OWNER": throwaway_user.name})
    assert result.returncode == 4, result
    assert "closed the connection without answering" in result.stderr
    lines = wait_until(lambda: read_lines(record), 10, what="the handshake recorded")
    assert int(lines[0]) > 0


@needs_root
def test_socket_folder_through_another_users_symlink_is_refused(
    throwaway_user, tmp_path, godpy_run
):
    """A socket path through a symlink owned by another user is refused (exit 5), though
    the daemon behind it is real."""
    run = start_daemon(godpy_run, _app(tmp_path))
    wait_all_up(run.socket)
    link = tmp_path / "link"
    link.symlink_to(os.path.dirname(run.socket))
    os.lchown(link, throwaway_user.uid, throwaway_user.gid)
    result = cli("status", socket=link / "godpy.sock")
    assert result.returncode == EXIT_UNTRUSTED, result
    assert result.stderr == (
        f"godpy: untrusted control socket: symlink {link} belongs to uid "
        f"{throwaway_user.uid} ({throwaway_user.name}), who could swap it\n"
    )


@needs_root
def test_socket_folder_of_another_user_is_refused(throwaway_user, tmp_path, godpy_run):
    """A folder on the socket's path owned by another user is refused (exit 5)."""
    run = start_daemon(godpy_run, _app(tmp_path))
    wait_all_up(run.socket)
    folder = os.path.dirname(run.socket)
    os.chown(folder, throwaway_user.uid, throwaway_user.gid)
    result = cli("status", socket=run.socket)
    assert result.returncode == EXIT_UNTRUSTED, result
    assert f"folder {folder} belongs to uid {throwaway_user.uid}" in result.stderr


@pytest.mark.parametrize("mode", [0o777, 0o1777])
def test_socket_folder_writable_by_others_is_refused(tmp_path, godpy_run, mode):
    """A socket folder others can write is refused (exit 5), the sticky bit included:
    anyone could have planted the socket."""
    run = start_daemon(godpy_run, _app(tmp_path))
    wait_all_up(run.socket)
    folder = os.path.dirname(run.socket)
    os.chmod(folder, mode)
    result = cli("status", socket=run.socket)
    assert result.returncode == EXIT_UNTRUSTED, result
    assert result.stderr == (
        f"godpy: untrusted control socket: folder {folder} holding the socket is writable "
        "by other users (the sticky bit does not make it safe)\n"
    )
    os.chmod(folder, 0o700)
    assert cli("status", socket=run.socket).returncode == 0


@pytest.mark.parametrize("how", ["folder moved", "file removed"])
def test_old_daemon_leaves_the_newer_daemons_socket(tmp_path, godpy_run, how):
    """An old daemon exiting after a newer one bound the same path removes only its own
    socket file (Pyro's close() removed whatever the path named)."""
    sock = tmp_path / "ctl" / "godpy.sock"
    old = start_daemon(godpy_run, _app(tmp_path), "--socket", str(sock))
    wait_all_up(sock)
    if how == "folder moved":
        os.rename(tmp_path / "ctl", tmp_path / "ctl-old")
    else:
        os.unlink(sock)
    new = godpy_run(_app(tmp_path, "second"), "--socket", str(sock), name="n.god.py")
    new.wait_log("godpy started with")
    wait_until(lambda: "second" in cli("status", socket=sock).stdout, 15, what="new daemon")
    assert old.terminate() == 0
    assert sock.exists()
    assert not (tmp_path / "ctl-old" / "godpy.sock").exists()
    status = cli("status", socket=sock)
    assert status.returncode == 0 and "second" in status.stdout, status
    assert new.proc.poll() is None
