"""Who a watched process runs as: user, group, supplementary groups and their environment."""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass


def _lookup_user(uid) -> pwd.struct_passwd:
    if isinstance(uid, int) or str(uid).isdigit():
        return pwd.getpwuid(int(uid))
    return pwd.getpwnam(str(uid))


def _lookup_group(gid) -> int:
    if isinstance(gid, int) or str(gid).isdigit():
        return grp.getgrgid(int(gid)).gr_gid
    return grp.getgrnam(str(gid)).gr_gid


@dataclass
class Credentials:
    """A resolved user and group; empty means "as godpy itself"."""

    uid: int | None = None
    gid: int | None = None
    user: str | None = None
    home: str | None = None
    shell: str | None = None
    groups: tuple[int, ...] | None = None

    @classmethod
    def resolve(cls, uid=None, gid=None) -> Credentials:
        """Look up ``uid``/``gid`` (names or numbers).

        Raises:
            ValueError: the user or group does not exist.
        """
        if uid is None and gid is None:
            return cls()
        creds = cls()
        if uid is not None:
            try:
                pw = _lookup_user(uid)
            except KeyError:
                raise ValueError(f"uid: no such user {uid!r}") from None
            creds.uid, creds.gid, creds.user = pw.pw_uid, pw.pw_gid, pw.pw_name
            creds.home, creds.shell = pw.pw_dir, pw.pw_shell
        if gid is not None:
            try:
                creds.gid = _lookup_group(gid)
            except KeyError:
                raise ValueError(f"gid: no such group {gid!r}") from None
        if creds.user is not None and creds.gid is not None:
            creds.groups = tuple(os.getgrouplist(creds.user, creds.gid))
        return creds

    def popen_kwargs(self) -> dict:
        """Keyword arguments for ``subprocess.Popen`` that switch to this identity."""
        if self.uid is None and self.gid is None:
            return {}
        kwargs = {"group": self.gid, "extra_groups": list(self.groups or [self.gid])}
        if self.uid is not None:
            kwargs["user"] = self.uid
        return kwargs

    def environment(self) -> dict[str, str]:
        """HOME, USER, LOGNAME and SHELL of the target user (empty without a uid)."""
        if self.user is None:
            return {}
        return {
            "HOME": self.home or "/",
            "USER": self.user,
            "LOGNAME": self.user,
            "SHELL": self.shell or "/bin/sh",
        }

    def chroot_switcher(self, root: str, directory: str):
        """Return a preexec function: chroot, chdir, then drop to this identity."""

        def switch():
            os.chroot(root)
            os.chdir(directory)
            if self.groups is not None:
                os.setgroups(list(self.groups))
            if self.gid is not None:
                os.setgid(self.gid)
            if self.uid is not None:
                os.setuid(self.uid)

        return switch
