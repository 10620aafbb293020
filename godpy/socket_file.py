"""The control socket as a file: which folders may hold it, who may answer on it, and
the removal of exactly the file a daemon bound.

One ownership rule serves both ends. A folder on the way to the socket must belong to
root, to us, or to the configured owner; a folder that other users can write (group or
other write bit) may be crossed only when it is sticky and the next entry belongs to one
of those (then no one else can rename that entry), and may never hold the socket itself:
the sticky bit does not stop another user from planting a socket there. A symlink on the
way must belong to one of those too, and its target is checked by the same rule.
"""

from __future__ import annotations

import grp
import os
import pwd
import socket
import stat
import struct
from collections.abc import Collection

_PEERCRED = struct.Struct("3i")
_MAX_LINKS = 40  # as the kernel's ELOOP limit


class UntrustedSocket(PermissionError):
    """The socket's path, or the process answering on it, is not trusted (the message
    says which folder, link or uid, and why)."""


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED).

    For a client this is the uid that called ``listen()`` on the server's socket.
    """
    _pid, uid, _gid = _PEERCRED.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    )
    return uid


def trusted_uids(owner: str | None = None) -> frozenset[int]:
    """Root, our effective uid, and ``owner`` (a user name or uid; default $GODPY_OWNER).

    Raises:
        UntrustedSocket: ``owner`` names no user.
    """
    owner = owner if owner is not None else os.environ.get("GODPY_OWNER")
    uids = {0, os.geteuid()}
    if owner:
        try:
            uids.add(int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid)
        except KeyError:
            raise UntrustedSocket(f"GODPY_OWNER={owner!r} names no user") from None
    return frozenset(uids)


def describe_uid(uid: int) -> str:
    """``uid 1001 (alice)``, or ``uid 1001`` for a uid without a name."""
    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def check_path(path: str, trusted: Collection[int]) -> None:
    """Refuse ``path`` unless no user outside ``trusted`` could swap a folder on its way.

    Walks the path one entry at a time as the kernel would (following symlinks, ``..``
    taken physically), checking every folder, link and the socket's own folder.

    Raises:
        UntrustedSocket: a folder or link fails the rule (the module docstring).
        OSError: a folder on the way does not exist or cannot be searched (a missing
            socket itself is not an error here).
    """
    if not path.startswith("/"):
        path = os.path.join(os.getcwd(), path)
    pending = [p for p in reversed(path.split("/")) if p not in ("", ".")]
    current, info, links = "/", os.stat("/"), 0
    _check_owner("folder", "/", info, trusted)
    while pending:
        name = pending.pop()
        if name == "..":
            current = os.path.dirname(current)
            info = os.stat(current)
            continue
        entry = os.path.join(current, name)
        try:
            entry_info = os.lstat(entry)
        except FileNotFoundError:
            if pending:
                raise
            break  # no socket yet: its folder is still checked below
        if not pending and not stat.S_ISLNK(entry_info.st_mode):
            break  # the socket itself: its folder is checked below
        _check_entry(current, info, entry, entry_info, trusted)
        if stat.S_ISLNK(entry_info.st_mode):
            links += 1
            if links > _MAX_LINKS:
                raise UntrustedSocket(f"too many symlinks on the way to {path}")
            target = os.readlink(entry)
            if target.startswith("/"):
                current, info = "/", os.stat("/")
            pending.extend(p for p in reversed(target.split("/")) if p not in ("", "."))
        else:
            current, info = entry, entry_info
    if info.st_mode & 0o022:
        raise UntrustedSocket(
            f"folder {current} holding the socket is writable by other users (the sticky "
            "bit does not make it safe)"
        )


def _check_entry(parent: str, parent_info, entry: str, info, trusted) -> None:
    """A folder or link on the way: ours, in a folder where no one else could rename it."""
    _check_owner("symlink" if stat.S_ISLNK(info.st_mode) else "folder", entry, info, trusted)
    if parent_info.st_mode & 0o022 and not parent_info.st_mode & stat.S_ISVTX:
        raise UntrustedSocket(f"folder {parent} is writable by other users")


def _check_owner(kind: str, path: str, info, trusted) -> None:
    if info.st_uid not in trusted:
        raise UntrustedSocket(
            f"{kind} {path} belongs to {describe_uid(info.st_uid)}, who could swap it"
        )


def group_id(group: str | int) -> int:
    """The gid of a group name or number.

    Raises:
        KeyError: no such group.
    """
    if isinstance(group, int) or str(group).isdigit():
        return grp.getgrgid(int(group)).gr_gid
    return grp.getgrnam(str(group)).gr_gid


class Admitted:
    """The peer uids a control socket serves: ``uids``, and members of group ``gid``.

    Membership is read from the user and group databases at each connection (primary
    group or supplementary), not from anything the peer could change.
    """

    def __init__(self, uids, gid: int | None = None):
        self._uids, self._gid = frozenset(uids), gid

    def __contains__(self, uid: object) -> bool:
        if uid in self._uids:
            return True
        if self._gid is None or not isinstance(uid, int):
            return False
        try:
            user = pwd.getpwuid(uid)
            return user.pw_gid == self._gid or user.pw_name in grp.getgrgid(self._gid).gr_mem
        except KeyError:
            return False


def prepare_dir(directory: str) -> None:
    """Create the socket's folder 0700 if needed; refuse one that is not ours alone.

    Raises:
        PermissionError: the folder is not owned by us, or others can write it.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.stat(directory)
    if info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise PermissionError(
            f"socket directory {directory} must be owned by uid {os.geteuid()} and not "
            "writable by others"
        )


class SocketFile:
    """A listening Unix socket bound at ``path``, which removes only its own file.

    The folder is opened once and the socket file's device and inode are recorded at
    bind; ``remove`` unlinks the name in that same folder, and only while it is still
    this socket, whatever the path resolves to by then (another daemon may have bound a
    new socket there, or the folder may have been moved away).

    Raises (from the constructor):
        PermissionError: see ``prepare_dir``.
        UntrustedSocket: a folder on the way could be swapped by another user.
        OSError: the socket could not be bound (the path is taken).
    """

    def __init__(
        self, path: str, group: int | None = None, backlog: int = 128, new_folder: bool = False
    ):
        self.path = os.path.abspath(path)
        directory, self.name = os.path.split(self.path)
        new_folder = new_folder or not os.path.isdir(directory)
        prepare_dir(directory)
        private = stat.S_IMODE(os.stat(directory).st_mode) & 0o077 == 0
        if group is not None and (new_folder or private):
            # the group may reach the socket, never write the folder; a shared folder that
            # was there (such as /run) keeps its mode
            os.chown(directory, -1, group)
            os.chmod(directory, 0o750)
        check_path(self.path, {0, os.geteuid()})
        self._dir: int | None = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            old = os.umask(0o177)
            try:
                self.sock.bind(self.path)
            finally:
                os.umask(old)
            info = os.stat(self.name, dir_fd=self._dir, follow_symlinks=False)
            self._identity = (info.st_dev, info.st_ino)
            if group is not None:
                os.chown(self.name, -1, group, dir_fd=self._dir, follow_symlinks=False)
                os.chmod(self.path, 0o660)
            self.sock.listen(backlog)
        except BaseException:
            self.sock.close()
            os.close(self._dir)
            raise

    def is_ours(self) -> bool:
        """True while the name in our folder is still the socket we bound."""
        try:
            info = os.stat(self.name, dir_fd=self._dir, follow_symlinks=False)
        except (FileNotFoundError, TypeError):
            return False
        return (info.st_dev, info.st_ino) == self._identity

    def remove(self) -> None:
        """Remove the socket file if it is still ours; a newer daemon's is left alone."""
        if self._dir is not None and self.is_ours():
            try:
                os.unlink(self.name, dir_fd=self._dir)
            except FileNotFoundError:
                pass

    def close(self) -> None:
        """Remove the file (if ours) and let go of the folder (the socket is closed by
        whoever serves it)."""
        self.remove()
        if self._dir is not None:
            os.close(self._dir)
            self._dir = None
