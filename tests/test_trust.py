"""trust_problem: which config and plugin paths the daemon refuses to run, on real files,
folders, symlinks and owners."""

import os

import pytest
from conftest import needs_root

from godpy.trust import trust_problem

pytestmark = pytest.mark.integration


@pytest.fixture
def safe(tmp_path):
    """A 0700 folder (inside pytest's 0700 folders under sticky /tmp) with a 0644 config."""
    folder = tmp_path / "etc"
    folder.mkdir(mode=0o700)
    config = folder / "app.god.py"
    config.write_text("x = 1\n")
    config.chmod(0o644)
    return config


def test_a_config_only_root_can_write_is_trusted(safe):
    """0644 file, 0700 folder, root-owned folders and sticky /tmp above: no problem."""
    assert trust_problem(str(safe)) is None


def test_a_group_writable_config_is_refused_with_chmod_fix(safe):
    """A file writable by its group is named, with its mode and the chmod that fixes it."""
    safe.chmod(0o664)
    assert trust_problem(str(safe)) == (
        f"{safe} is writable by its group (mode 0664); fix: chmod go-w {safe}"
    )


def test_a_world_writable_folder_of_the_config_is_refused(safe):
    """The config's own folder writable by others: someone could replace the file."""
    safe.parent.chmod(0o777)
    assert trust_problem(str(safe)) == (
        f"{safe.parent} is writable by its group and others (mode 0777); "
        f"fix: chmod go-w {safe.parent}"
    )


def test_a_config_directly_in_a_sticky_shared_folder_is_refused(tmp_path):
    """Sticky does not make /tmp-like folders safe for the config's own folder: anyone
    may add files next to it; the fix is to move it, not to chmod the shared folder."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    config = shared / "app.god.py"
    config.write_text("x = 1\n")
    assert trust_problem(str(config)) == (
        f"{shared} is writable by its group and others (mode 1777); "
        "fix: move it to a folder only root can write (e.g. /etc/godpy)"
    )


def test_a_private_folder_inside_a_sticky_folder_is_trusted(tmp_path, safe):
    """A sticky ancestor is fine: nobody else can rename the root-owned folder in it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    inner = shared / "etc"
    os.rename(safe.parent, inner)
    assert trust_problem(str(inner / "app.god.py")) is None


def test_a_writable_ancestor_without_sticky_bit_is_refused(tmp_path, safe):
    """An ancestor writable by others (not sticky) lets them swap the whole folder."""
    tmp_path.chmod(0o777)
    try:
        assert trust_problem(str(safe)) == (
            f"{tmp_path} is writable by its group and others (mode 0777); "
            f"fix: chmod go-w {tmp_path}"
        )
    finally:
        tmp_path.chmod(0o700)


def test_a_symlink_into_an_unsafe_folder_is_refused(tmp_path, safe):
    """Symlinks are followed hop by hop: the target's folder is checked too."""
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    unsafe.chmod(0o777)
    (unsafe / "real.god.py").write_text("x = 1\n")
    link = safe.parent / "link.god.py"
    link.symlink_to(unsafe / "real.god.py")
    assert trust_problem(str(link)).startswith(f"{unsafe} is writable by its group and others")


def test_a_symlink_in_an_unsafe_folder_is_refused_even_to_a_safe_file(tmp_path, safe):
    """The folder holding a link is checked: whoever can write it can point it elsewhere."""
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    unsafe.chmod(0o777)
    (unsafe / "app.god.py").symlink_to(safe)
    problem = trust_problem(str(unsafe / "app.god.py"))
    assert problem == f"{unsafe} is writable by its group and others (mode 0777); " + (
        f"fix: chmod go-w {unsafe}"
    )


def test_a_plugin_folder_is_checked_like_a_file(safe):
    """A plugin folder itself must not be writable by others (no files may be added)."""
    safe.parent.chmod(0o770)
    assert trust_problem(str(safe.parent)) == (
        f"{safe.parent} is writable by its group (mode 0770); fix: chmod go-w {safe.parent}"
    )


@needs_root
def test_a_config_owned_by_another_user_is_refused(throwaway_user, safe):
    """A file owned by a service user is refused for a root daemon, with the chown fix."""
    os.chown(safe, throwaway_user.uid, throwaway_user.gid)
    assert trust_problem(str(safe)) == (
        f"{safe} is owned by {throwaway_user.name}, not root; fix: chown root {safe}"
    )


@needs_root
def test_a_folder_owned_by_another_user_is_refused_even_if_not_writable(throwaway_user, safe):
    """An owner can chmod their folder back at will: ownership alone is refused."""
    os.chown(safe.parent, throwaway_user.uid, throwaway_user.gid)
    assert trust_problem(str(safe)) == (
        f"{safe.parent} is owned by {throwaway_user.name}, not root; fix: chown root {safe.parent}"
    )


@needs_root
def test_the_daemon_users_own_files_are_trusted_for_that_daemon(throwaway_user, safe):
    """For a daemon running as the user, its own files are fine; another user's are not."""
    os.chown(safe, throwaway_user.uid, throwaway_user.gid)
    assert trust_problem(str(safe), uid=throwaway_user.uid) is None
    os.chown(safe, 0, 0)
    assert trust_problem(str(safe), uid=throwaway_user.uid) is None
    assert trust_problem(str(safe), uid=65534) is None
    os.chown(safe, throwaway_user.uid, throwaway_user.gid)
    problem = trust_problem(str(safe), uid=65534)
    assert problem.startswith(f"{safe} is owned by {throwaway_user.name}, not root or ")


@needs_root
def test_a_symlink_another_user_owns_is_refused_even_in_a_sticky_folder(
    throwaway_user, safe, tmp_path
):
    """In a sticky folder the link's owner can still point it elsewhere (a race against
    the check): a link owned by anyone but root and the daemon's user is refused."""
    sticky = tmp_path / "shared"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    link = sticky / "conf"
    os.symlink(safe.parent, link)
    os.lchown(link, throwaway_user.uid, throwaway_user.gid)
    problem = trust_problem(str(link / "app.god.py"))
    assert problem.startswith(
        f"symlink {link} belongs to {throwaway_user.name}, who could point it elsewhere"
    )
    os.lchown(link, 0, 0)
    assert trust_problem(str(link / "app.god.py")) is None
