"""Trust in a file: could anyone but root and the daemon's user have written it?

The rule, after sshd's StrictModes, for a file the daemon runs (a config, a plugin):

- the file, and the folder holding it, are owned by root or the daemon's user and are
  not writable by group or others (a sticky bit does not help here: in a sticky folder
  anyone may still add a file next to the config);
- every other folder the path goes through (symlinks followed, each hop checked) is
  owned by root or the daemon's user and is either not writable by group or others, or
  sticky (``/tmp``: another user cannot rename or replace an entry they do not own).
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from contextvars import ContextVar

#: (folder, uid) -> the verdict of ``unsafe_folder``, while one config loads (else None).
FOLDER_VERDICTS: ContextVar[dict | None] = ContextVar("godpy_folder_verdicts", default=None)


def trust_problem(path: str, uid: int | None = None, folder: bool = False) -> str | None:
    """Why ``path`` must not be trusted, as ``<what is wrong>; fix: <command>``, or None.

    Args:
        path: a file (or a folder whose every file will be run, as ``load_plugins`` does).
        uid: the daemon's user (default: this process's effective uid); root is always
            trusted too.
        folder: ``path`` is a folder in which files are created (pid files, logs): it
            must not be writable by others at all, while the folders above it may be
            sticky (a root-owned folder in ``/tmp`` cannot be renamed by another user).

    Raises:
        OSError: a part of the path cannot be examined.
    """
    trusted = {0, os.geteuid() if uid is None else uid}
    passed, real, links = _walk(os.path.abspath(path))
    for link in links:  # whoever owns a link can point it elsewhere, sticky folder or not
        owner = os.lstat(link).st_uid
        if owner not in trusted:
            want = " or ".join(_user(u) for u in sorted(trusted))
            return (
                f"symlink {link} belongs to {_user(owner)}, who could point it elsewhere, "
                f"not {want}; fix: use the real path, or chown -h {_user(max(trusted))} {link}"
            )
    strict = [real] if folder else [real, os.path.dirname(real)]
    checks = [(where, False) for where in strict]
    checks += [(where, True) for where in reversed(passed) if where not in strict]
    for where, sticky_ok in checks:
        problem = _problem(where, trusted, sticky_ok)
        if problem:
            return problem
    return None


def unsafe_folder(folder: str, uid: int) -> str | None:
    """Why files godpy creates in ``folder`` for a process of ``uid`` would not be safe
    (pid files, logs), or None: the folder must be writable only by root and ``uid``.
    While a config loads, the verdict on each (folder, uid) is kept (``FOLDER_VERDICTS``):
    200 watches sharing a pid folder made 1,000 stat() calls."""
    verdicts = FOLDER_VERDICTS.get()
    key = (folder, uid)
    if verdicts is not None and key in verdicts:
        return verdicts[key]
    try:
        verdict = trust_problem(folder, uid, folder=True)
    except OSError as exc:
        verdict = f"cannot examine it: {exc.strerror or exc}"
    if verdicts is not None:
        verdicts[key] = verdict
    return verdict


def _problem(path: str, trusted: set[int], sticky_ok: bool) -> str | None:
    st = os.stat(path)
    if st.st_uid not in trusted:
        owner = _user(st.st_uid)
        want = " or ".join(_user(u) for u in sorted(trusted))
        return f"{path} is owned by {owner}, not {want}; fix: chown {_user(max(trusted))} {path}"
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if not writable or (sticky_ok and st.st_mode & stat.S_ISVTX):
        return None
    who = {stat.S_IWGRP: "its group", stat.S_IWOTH: "others"}
    whom = " and ".join(text for bit, text in who.items() if writable & bit)
    mode = f"mode {stat.S_IMODE(st.st_mode):04o}"
    if stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
        fix = f"move it to a folder only {_user(st.st_uid)} can write (e.g. /etc/godpy)"
    else:
        fix = f"chmod go-w {path}"
    return f"{path} is writable by {whom} ({mode}); fix: {fix}"


def _walk(path: str) -> tuple[list[str], str, list[str]]:
    """Every folder a lookup of absolute ``path`` goes through, symlinks followed one hop
    at a time (so the folder of each link is checked too), and the final real path."""
    folders: list[str] = []
    links: list[str] = []
    todo = path.split("/")
    current, hops = "/", 0
    while todo:
        part = todo.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        if current not in folders:
            folders.append(current)
        step = os.path.join(current, part)
        if not os.path.islink(step):
            current = step
            continue
        links.append(step)
        hops += 1
        if hops > 40:
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
        target = os.readlink(step)
        if target.startswith("/"):
            current = "/"
        todo = target.split("/") + todo
    return folders, current, links


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
