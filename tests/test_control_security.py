"""The control socket serves only its owner and root, over serpent, and only METHODS."""

import os
import shutil
import stat
import subprocess
import tempfile

import pytest
from cli_helpers import config, kill_probes, start_daemon, watch
from conftest import GODPY, needs_root

from godpy.control import METHODS
from godpy.rpc import Client, NoDaemon  # imported before any child drops privileges

pytestmark = pytest.mark.system


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


@pytest.fixture
def reachable_dir():
    """A directory under /tmp that other users may traverse (0711) but not list or write."""
    path = tempfile.mkdtemp(prefix="godpy-sec-", dir="/tmp")
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def other_user(request):
    """(uid, gid) of a user that is neither root nor us: a throwaway user, else nobody."""
    try:
        user = request.getfixturevalue("throwaway_user")
    except pytest.skip.Exception:
        return 65534, 65534
    return user.uid, user.gid


def _ping_as(uid, gid, path, groups=()):
    """Fork, drop to uid/gid (and supplementary ``groups``), call ``ping`` on ``path``;
    return what the child saw."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (child)
        try:
            os.close(read_end)
            os.setgroups(list(groups))
            os.setgid(gid)
            os.setuid(uid)
            try:
                with Client(path, 5) as client:
                    seen = f"answered {client.call('ping')}"
            except NoDaemon as exc:
                seen = f"NoDaemon: {exc}"
            except BaseException as exc:  # anything else is a finding, report it
                seen = f"{type(exc).__name__}: {exc}"
            os.write(write_end, seen.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        seen = pipe.read().decode()
    os.waitpid(child, 0)
    return seen


def _app(tmp_path):
    return config(tmp_path, watch(tmp_path, "solo"))


def test_socket_is_0600_in_a_directory_only_its_owner_can_write(tmp_path, godpy_run):
    """The socket file is mode 0600, in a directory (created 0700) owned by the daemon's uid."""
    run = start_daemon(godpy_run, _app(tmp_path))
    info = os.stat(run.socket)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.geteuid()
    directory = os.stat(os.path.dirname(run.socket))
    assert stat.S_IMODE(directory.st_mode) == 0o700
    assert directory.st_uid == os.geteuid()


def test_socket_directory_writable_by_others_is_refused(tmp_path):
    """A socket directory others can write is refused at start, before anything runs."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    cfg = tmp_path / "app.god.py"
    cfg.write_text(_app(tmp_path))
    result = subprocess.run(
        [GODPY, "-c", str(cfg), "-D", "--socket", str(shared / "godpy.sock")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.endswith(
        f"godpy: socket directory {shared} must be owned by uid {os.geteuid()} and not "
        "writable by others\n"
    ), result.stderr
    assert not (tmp_path / "solo.rec").exists()
    assert not (shared / "godpy.sock").exists()


@needs_root
def test_other_uid_cannot_connect_to_the_0600_socket(
    tmp_path, other_user, godpy_run, reachable_dir
):
    """Another uid that can reach the 0600 socket file is stopped by its mode at connect()."""
    sock = os.path.join(reachable_dir, "godpy.sock")
    start_daemon(godpy_run, _app(tmp_path), "--socket", sock)
    with Client(sock, 5) as client:
        assert client.call("ping") == "pong"
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    seen = _ping_as(*other_user, sock)
    assert seen == (
        f"NoDaemon: permission denied on {sock}: only the daemon's own user and root may use it"
    ), seen


@needs_root
def test_other_uid_is_refused_by_peer_credentials_and_logged(
    tmp_path, other_user, godpy_run, reachable_dir
):
    """Even with the socket opened to all (0666), SO_PEERCRED refuses another uid, and logs it."""
    uid, gid = other_user
    sock = os.path.join(reachable_dir, "godpy.sock")
    run = start_daemon(godpy_run, _app(tmp_path), "--socket", sock)
    os.chmod(sock, 0o666)
    seen = _ping_as(uid, gid, sock)
    assert seen.startswith(f"NoDaemon: the godpy daemon on {sock} refused us: "), seen
    assert f"uid {uid} may not control this godpy" in seen
    run.wait_log(f"WARN: control socket: refused a connection from uid {uid}")
    with Client(sock, 5) as client:  # root is still served
        assert client.call("ping") == "pong"


def test_only_the_listed_methods_are_callable(tmp_path, godpy_run):
    """The proxy sees exactly METHODS; private names and the api's other methods are refused."""
    import Pyro5.client

    run = start_daemon(godpy_run, _app(tmp_path))
    with Pyro5.client.Proxy(f"PYRO:godpy@./u:{run.socket}") as proxy:
        proxy._pyroBind()
        assert proxy._pyroMethods == set(METHODS)
        assert proxy._pyroAttrs == set()
        for name in ("__init__", "_api", "__class__", "_pyroInvoke", "daemon", "resolve", "eval"):
            with pytest.raises(AttributeError, match=f"^godpy has no command '{name}'$"):
                proxy._pyroInvoke(name, (), {})
        with pytest.raises(TypeError, match="keyword arguments are not accepted"):
            proxy._pyroInvoke("status", (), {"name": "solo"})
        assert proxy.ping() == "pong"


def test_pyro_daemon_object_is_not_served(tmp_path, godpy_run):
    """Pyro's own DaemonObject (registered, info, get_metadata, ...) is not reachable."""
    import Pyro5.client
    import Pyro5.errors

    run = start_daemon(godpy_run, _app(tmp_path))
    with Pyro5.client.Proxy(f"PYRO:godpy@./u:{run.socket}") as proxy:
        proxy._pyroBind()
        for name in ("registered", "info", "get_metadata", "ping"):
            with pytest.raises(LookupError, match="unknown object 'Pyro.Daemon'"):
                proxy._pyroInvoke(name, ("godpy",), {}, objectId="Pyro.Daemon")
    proxy = Pyro5.client.Proxy(f"PYRO:Pyro.Daemon@./u:{run.socket}")
    with proxy, pytest.raises(Pyro5.errors.CommunicationError, match="unknown object"):
        proxy._pyroBind()


def test_serializer_is_serpent_never_pickle(tmp_path, godpy_run):
    """Pyro5 keeps its safe default (serpent); no pickle serializer exists to be asked for,
    and the daemon takes json and serpent only (not marshal)."""
    import Pyro5
    import Pyro5.client
    import Pyro5.errors
    import Pyro5.serializers

    assert Pyro5.config.SERIALIZER == "serpent"
    assert "pickle" not in Pyro5.serializers.serializers
    assert "dill" not in Pyro5.serializers.serializers
    run = start_daemon(godpy_run, _app(tmp_path))
    with Pyro5.client.Proxy(f"PYRO:godpy@./u:{run.socket}") as proxy:
        assert proxy._pyroSerializer in (None, "serpent")
        assert proxy.status("solo")[0]["name"] == "solo"
    with Client(run.socket, 5) as client:
        assert client.call("version")
    proxy = Pyro5.client.Proxy(f"PYRO:godpy@./u:{run.socket}")
    proxy._pyroSerializer = "marshal"
    with proxy, pytest.raises(Pyro5.errors.CommunicationError, match="serializer 2 is not"):
        proxy._pyroBind()


def _cli_as(uid, gid, *args):
    """Fork, drop to uid/gid, run the godpy CLI in-process; return (exit code, output)."""
    from click.testing import CliRunner

    from godpy.cli import main

    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (child)
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            result = CliRunner().invoke(main, list(args))
            os.write(write_end, f"{result.exit_code}\n{result.output}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        code, _, output = pipe.read().decode().partition("\n")
    os.waitpid(child, 0)
    return int(code), output


@needs_root
def test_other_uid_cli_gets_permission_denied_and_exit_4(
    tmp_path, other_user, godpy_run, reachable_dir
):
    """The CLI of another uid naming the 0600 socket reports the refusal (exit 4), not a
    usage error about an unreadable --socket file."""
    sock = os.path.join(reachable_dir, "godpy.sock")
    start_daemon(godpy_run, _app(tmp_path), "--socket", sock)
    code, output = _cli_as(*other_user, "--socket", sock, "status")
    assert code == 4, output
    assert f"permission denied on {sock}" in output, output


@needs_root
@pytest.mark.parametrize("how", ["setting", "flag"])
def test_socket_group_members_may_command_others_may_not(
    tmp_path, throwaway_user, godpy_run, reachable_dir, how
):
    """God.socket_group (or --socket-group): the socket is 0660 with that group, a member
    (here through a supplementary group) is served, a non-member is still refused."""
    user = throwaway_user
    sock = os.path.join(reachable_dir, "ctl", "godpy.sock")
    head, args = "", ["--socket", sock]
    if how == "setting":
        head = f"God.socket_group = {user.extra!r}\n"
    else:
        args += ["--socket-group", user.extra]
    text = _app(tmp_path).replace("from godpy import God\n", f"from godpy import God\n{head}")
    run = start_daemon(godpy_run, text, *args)
    info = os.stat(sock)
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o660, user.extra_gid)
    folder = os.stat(os.path.dirname(sock))
    assert (stat.S_IMODE(folder.st_mode), folder.st_gid) == (0o750, user.extra_gid)
    assert _ping_as(user.uid, user.gid, sock, [user.extra_gid]) == "answered pong"
    seen = _ping_as(65534, 65534, sock)
    assert seen.startswith("NoDaemon: permission denied on"), seen
    os.chmod(os.path.dirname(sock), 0o751)  # past the modes, the peer check still stops
    os.chmod(sock, 0o666)  # a non-member
    seen = _ping_as(65534, 65534, sock)
    assert seen.startswith("NoDaemon: the godpy daemon on"), seen
    assert "group " + user.extra + " may use it" in run.text()


def test_unknown_socket_group_is_a_config_error(tmp_path, godpy_run):
    """God.socket_group naming no group is refused at its line."""
    text = _app(tmp_path).replace(
        "from godpy import God\n", "from godpy import God\nGod.socket_group = 'nosuchgroupx'\n"
    )
    run = godpy_run(text)
    assert run.proc.wait(30) == 1
    assert "God.socket_group: no such group 'nosuchgroupx'" in run.text()
