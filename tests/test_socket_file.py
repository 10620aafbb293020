"""Which socket paths are trusted (real folders, links and owners), and a daemon's socket
file removes only itself."""

import os
import socket

import pytest
from conftest import needs_root

from godpy.socket_file import SocketFile, UntrustedSocket, check_path, trusted_uids

pytestmark = pytest.mark.integration

US = frozenset({0, os.geteuid()})


@pytest.fixture
def base(tmp_path):
    """A folder of ours (0755) under the test's tmp_path, to build paths in."""
    path = tmp_path / "base"
    path.mkdir(mode=0o755)
    return path


def test_our_own_folders_are_trusted(base):
    """Folders of root and us, not writable by others, pass (the socket need not exist)."""
    (base / "ctl").mkdir(mode=0o700)
    check_path(str(base / "ctl" / "godpy.sock"), US)


def test_sticky_tmp_may_be_crossed_to_a_folder_of_ours(tmp_path):
    """/tmp (1777) is crossed: its entry on our way belongs to root, so none can rename it."""
    assert str(tmp_path).startswith("/tmp/")
    check_path(str(tmp_path / "godpy.sock"), US)


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770])
def test_socket_folder_writable_by_others_is_refused(base, mode):
    """The socket's own folder writable by group or others is refused, sticky or not."""
    shared = base / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    with pytest.raises(UntrustedSocket, match=f"folder {shared} holding the socket is writable"):
        check_path(str(shared / "godpy.sock"), US)


def test_world_writable_ancestor_without_sticky_bit_is_refused(base):
    """A non-sticky folder others can write lets them rename our folder inside it."""
    open_dir = base / "open"
    (open_dir / "ctl").mkdir(parents=True)
    os.chmod(open_dir, 0o777)
    with pytest.raises(UntrustedSocket, match=f"folder {open_dir} is writable by other users"):
        check_path(str(open_dir / "ctl" / "godpy.sock"), US)


@needs_root
def test_folder_of_another_user_is_refused(base, throwaway_user):
    """A folder on the way that belongs to another user is refused, naming the user."""
    theirs = base / "theirs"
    (theirs / "ctl").mkdir(parents=True, mode=0o700)
    os.chown(theirs, throwaway_user.uid, throwaway_user.gid)
    with pytest.raises(UntrustedSocket) as caught:
        check_path(str(theirs / "ctl" / "godpy.sock"), US)
    assert str(caught.value) == (
        f"folder {theirs} belongs to uid {throwaway_user.uid} ({throwaway_user.name}), "
        "who could swap it"
    )


@needs_root
def test_symlink_of_another_user_is_refused(base, throwaway_user):
    """A symlink on the way owned by another user is refused, even to a good folder."""
    (base / "real").mkdir(mode=0o700)
    link = base / "link"
    link.symlink_to(base / "real")
    os.lchown(link, throwaway_user.uid, throwaway_user.gid)
    with pytest.raises(
        UntrustedSocket, match=f"symlink {link} belongs to uid {throwaway_user.uid}"
    ):
        check_path(str(link / "godpy.sock"), US)


@needs_root
def test_configured_owner_is_trusted(base, throwaway_user, monkeypatch):
    """GODPY_OWNER (name or uid) adds that user's folders and server to the trusted set."""
    theirs = base / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, throwaway_user.uid, throwaway_user.gid)
    for value in (throwaway_user.name, str(throwaway_user.uid)):
        monkeypatch.setenv("GODPY_OWNER", value)
        assert trusted_uids() == US | {throwaway_user.uid}
        check_path(str(theirs / "godpy.sock"), trusted_uids())
    monkeypatch.setenv("GODPY_OWNER", "no-such-user-godpy")
    with pytest.raises(UntrustedSocket, match="GODPY_OWNER='no-such-user-godpy' names no user"):
        trusted_uids()


def test_symlinks_of_ours_are_followed_and_their_targets_checked(base):
    """A link of ours is followed (relative and absolute, and '..' after it taken
    physically); a target folder others can write is refused."""
    (base / "a" / "deep").mkdir(parents=True, mode=0o700)
    (base / "rel").symlink_to("a/deep")
    (base / "abs").symlink_to(base / "a" / "deep")
    check_path(str(base / "rel" / "godpy.sock"), US)
    check_path(str(base / "abs" / "godpy.sock"), US)
    check_path(str(base / "rel" / ".." / "godpy.sock"), US)  # base/a, not base
    (base / "bad").mkdir()
    os.chmod(base / "bad", 0o777)
    (base / "to-bad").symlink_to("bad")
    (base / "sock-link").symlink_to("bad/godpy.sock")
    for path in (base / "to-bad" / "godpy.sock", base / "sock-link"):
        with pytest.raises(UntrustedSocket, match=f"folder {base / 'bad'} holding the socket"):
            check_path(str(path), US)


def test_symlink_loop_is_refused(base):
    """A loop of links ends in a clear refusal, not a hang."""
    (base / "x").symlink_to("y")
    (base / "y").symlink_to("x")
    with pytest.raises(UntrustedSocket, match="too many symlinks"):
        check_path(str(base / "x" / "godpy.sock"), US)


def test_missing_folder_is_an_os_error(base):
    """A folder that does not exist is reported as such (the client says: no daemon)."""
    with pytest.raises(FileNotFoundError):
        check_path(str(base / "nowhere" / "godpy.sock"), US)


def test_socket_file_is_0600_and_removes_itself(base):
    """The bound socket is 0600 and ``close`` removes it."""
    path = base / "ctl" / "godpy.sock"
    bound = SocketFile(str(path))
    try:
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        assert bound.is_ours()
    finally:
        bound.sock.close()
        bound.close()
    assert not path.exists()


def test_socket_file_leaves_a_newer_socket_alone(base):
    """A socket a newer daemon bound at the same path is not removed by the old one."""
    path = base / "ctl" / "godpy.sock"
    old = SocketFile(str(path))
    os.unlink(path)
    new = SocketFile(str(path))
    try:
        old.sock.close()
        old.close()
        assert path.exists() and new.is_ours()
    finally:
        new.sock.close()
        new.close()
    assert not path.exists()


def test_socket_file_removes_its_own_file_after_its_folder_moved(base):
    """The old daemon removes its own socket in the folder it bound in (moved away), never
    the new socket the old path now leads to."""
    path = base / "ctl" / "godpy.sock"
    old = SocketFile(str(path))
    os.rename(base / "ctl", base / "ctl-old")
    new = SocketFile(str(path))
    try:
        old.sock.close()
        old.close()
        assert not (base / "ctl-old" / "godpy.sock").exists()
        assert path.exists() and new.is_ours()
        with socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(path))
    finally:
        new.sock.close()
        new.close()
