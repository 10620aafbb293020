"""Credentials: resolving uid/gid (names or numbers), supplementary groups, the user's env."""

import os
import pwd

import pytest

from godpy.credentials import Credentials


def test_nothing_set_means_run_as_godpy_itself():
    """Without uid and gid, Popen gets no identity arguments and the env is untouched."""
    creds = Credentials.resolve()
    assert creds == Credentials()
    assert creds.popen_kwargs() == {}
    assert creds.environment() == {}


@pytest.mark.parametrize("uid", ["root", 0, "0"])
def test_root_resolves_by_name_number_and_numeric_string(uid):
    """uid may be a name, an int or a numeric string; all give the same passwd entry."""
    creds = Credentials.resolve(uid=uid)
    root = pwd.getpwuid(0)
    assert (creds.uid, creds.gid, creds.user) == (0, root.pw_gid, "root")
    assert (creds.home, creds.shell) == (root.pw_dir, root.pw_shell)
    assert creds.groups == tuple(os.getgrouplist("root", root.pw_gid))


def test_unknown_user_is_a_value_error_naming_it():
    """An unknown uid raises ValueError with the name the user wrote."""
    with pytest.raises(ValueError, match=r"^uid: no such user 'godpy-nobody-x7'$"):
        Credentials.resolve(uid="godpy-nobody-x7")


def test_unknown_group_is_a_value_error_naming_it():
    """An unknown gid raises ValueError with the name the user wrote."""
    with pytest.raises(ValueError, match=r"^gid: no such group 'godpy-nogroup-x7'$"):
        Credentials.resolve(uid="root", gid="godpy-nogroup-x7")


def test_gid_alone_switches_group_only():
    """A gid without a uid sets the group (and only it as supplementary), not the user."""
    creds = Credentials.resolve(gid="0")
    assert creds.popen_kwargs() == {"group": 0, "extra_groups": [0]}
    assert creds.environment() == {}
    assert creds.uid is None and creds.groups is None


def test_user_by_name_gets_its_primary_and_supplementary_groups(throwaway_user):
    """A named user resolves to its passwd entry plus every group it belongs to."""
    u = throwaway_user
    creds = Credentials.resolve(uid=u.name)
    assert (creds.uid, creds.gid, creds.user) == (u.uid, u.gid, u.name)
    assert set(creds.groups) == {u.gid, u.extra_gid}
    kwargs = creds.popen_kwargs()
    assert (kwargs["user"], kwargs["group"]) == (u.uid, u.gid)
    assert set(kwargs["extra_groups"]) == {u.gid, u.extra_gid}


def test_user_environment_is_home_user_logname_shell(throwaway_user):
    """environment() gives exactly the target user's HOME, USER, LOGNAME and SHELL."""
    u = throwaway_user
    assert Credentials.resolve(uid=u.uid).environment() == {
        "HOME": u.home,
        "USER": u.name,
        "LOGNAME": u.name,
        "SHELL": u.shell,
    }


@pytest.mark.parametrize("form", ["name", "number", "numeric string"])
def test_gid_overrides_the_primary_group(throwaway_user, form):
    """gid (name, int or numeric string) replaces the user's primary group."""
    u = throwaway_user
    gid = {"name": u.extra, "number": u.extra_gid, "numeric string": str(u.extra_gid)}[form]
    creds = Credentials.resolve(uid=u.name, gid=gid)
    assert creds.gid == u.extra_gid
    assert creds.popen_kwargs()["group"] == u.extra_gid
    assert u.extra_gid in creds.groups


def test_chroot_switcher_chroots_then_drops_groups_gid_uid_in_that_order(monkeypatch):
    """The preexec function chroots and chdirs before dropping privileges, uid last."""
    calls = []
    for name in ("chroot", "chdir", "setgroups", "setgid", "setuid"):
        monkeypatch.setattr(os, name, lambda arg, name=name: calls.append((name, arg)))
    creds = Credentials(uid=1234, gid=567, user="x", groups=(567, 890))
    creds.chroot_switcher("/jail", "/srv")()
    assert calls == [
        ("chroot", "/jail"),
        ("chdir", "/srv"),
        ("setgroups", [567, 890]),
        ("setgid", 567),
        ("setuid", 1234),
    ]


def test_chroot_switcher_without_identity_only_chroots(monkeypatch):
    """With no uid/gid the preexec function chroots and chdirs, and changes no ids."""
    calls = []
    for name in ("chroot", "chdir", "setgroups", "setgid", "setuid"):
        monkeypatch.setattr(os, name, lambda arg, name=name: calls.append(name))
    Credentials().chroot_switcher("/jail", "/")()
    assert calls == ["chroot", "chdir"]
