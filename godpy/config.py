"""Config loading: run a config file and turn every problem into ``file:line: text``.

A config is code run with the daemon's rights (root, usually), so a file is run only when
nobody but root and the daemon's user could have written it (``trust_problem``). Its
folder is not put on ``sys.path``: a module planted next to it is never imported by
accident; a sibling file is run only when the config names it (``God.load``, a file or a
glob). A config may also be a folder of ``*.god.py`` files or a glob (``-c``).

Problems are collected through the whole config (``godpy check`` shows them all): while
a file runs, a bad assignment or unknown plugin is recorded at its line and the file
goes on; an exception ends the file; each block is checked when it closes, its problems
placed at the lines that set the attributes at fault.
"""

from __future__ import annotations

import glob
import os
import re
import traceback
import types

from godpy.configurable import LOADING_FILE, PROBLEMS, config_location
from godpy.errors import AttributeProblem, ConfigError
from godpy.log import get_logger
from godpy.process import Children
from godpy.session import CURRENT, Session
from godpy.trust import FOLDER_VERDICTS, trust_problem
from godpy.watch import Watch


def _location(files, exc: BaseException) -> str:
    """``file:line`` of the innermost frame of ``exc`` in one of the config's ``files``."""
    where = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = os.path.abspath(frame.f_code.co_filename)
        if filename in files:
            where = f"{filename}:{lineno}"
    return where or next(iter(files))


def config_files(path: str) -> list[str]:
    """The files ``-c PATH`` names: a file; every ``*.god.py`` of a folder; or a glob's
    matches. Folders and globs run in sorted order.

    Raises:
        ConfigError: the folder or glob names no file.
    """
    if glob.has_magic(path):
        files = sorted(f for f in glob.glob(path) if os.path.isfile(f))
        if not files:
            raise ConfigError(f"{path}: no config file matches")
    elif os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(glob.escape(path), "*.god.py")))
        if not files:
            raise ConfigError(f"{path}: folder holds no *.god.py file")
    else:
        files = [path]
    return [os.path.abspath(f) for f in files]


def load(
    path: str,
    events: bool = False,
    children: Children | None = None,
    contacts=None,
    insecure: bool = False,
    check_only: bool = False,
    settings: dict | None = None,
    running: list | None = None,
) -> Session:
    """Run the config at ``path`` and return its checked session.

    Every problem is collected: a bad assignment or an unknown plugin is recorded at its
    line and the file goes on; an exception ends that file (the next one still runs);
    each block is checked when it closes.

    Args:
        path: the config file, a folder (its ``*.god.py`` files) or a glob.
        events: whether process-exit events work, so keepalive can use them.
        children: the daemon's child tracker.
        contacts: contacts already defined (a running daemon's), which ``notify`` may name.
        insecure: run files that others could have written, with a warning
            (``--insecure-config``); the warnings are in ``session.warnings``.
        check_only: ``godpy check``: create nothing, not even the pid directory.
        settings: a running daemon's settings, which a loaded file starts from.
        running: a running daemon's tasks that stay beside the file's (``depends_on``
            may name them; a cycle through them is refused).

    Raises:
        ConfigError: with one line per problem; nothing has been started.
    """
    path = os.path.abspath(path)
    session = Session(
        path,
        events,
        children,
        contacts,
        insecure=insecure,
        check_only=check_only,
        settings=settings,
        running=running,
    )
    sources = [(file, read_trusted(session, file)) for file in config_files(path)]
    token = CURRENT.set(session)
    folders = FOLDER_VERDICTS.set({})  # each folder is examined once per load
    try:
        _run_all(sources, session)
        _close(session)
    finally:
        FOLDER_VERDICTS.reset(folders)
        CURRENT.reset(token)
    if session.problems:
        raise ConfigError(session.problems)
    return session


def check(path: str, insecure: bool = False, events: bool | None = None) -> Session:
    """Load the config at ``path`` as the daemon would, starting and creating nothing
    (``godpy check FILE``).

    Args:
        path: the config file, folder or glob.
        insecure: as ``--insecure-config``.
        events: whether process-exit events would work (default: when run as root, as
            netlink needs).

    Raises:
        ConfigError: one line per problem.
    """
    if events is None:
        events = os.geteuid() == 0
    return load(path, events, insecure=insecure, check_only=True)


def summary(session: Session) -> str:
    """``3 watches, 1 task, 2 contacts: ok``."""
    watches = sum(isinstance(t, Watch) for t in session.tasks)
    counts = [
        (watches, "watch", "watches"),
        (len(session.tasks) - watches, "task", "tasks"),
        (len(session.contacts), "contact", "contacts"),
    ]
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts) + ": ok"


def read_trusted(session: Session, path: str) -> str:
    """The text of config file ``path``, once it is known that only root or the daemon's
    user could have written it (or, with ``session.insecure``, with a warning).

    Raises:
        ConfigError: the file cannot be read, or others could have written it.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    check_trusted(session, path)
    return source


def check_trusted(session: Session, path: str) -> None:
    """Refuse ``path`` (a config or plugin file, or a plugin folder) when users other
    than root and the daemon's could have written it; with ``session.insecure`` warn.

    Raises:
        ConfigError: one line naming the path, the culprit and the fix.
    """
    try:
        problem = trust_problem(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot check who may write it: {exc.strerror}") from None
    if problem is None:
        return
    if not session.insecure:
        raise ConfigError(f"{path}: refused: {problem}, or pass --insecure-config")
    warning = f"{path}: loaded anyway (--insecure-config): {problem}"
    session.warnings.append(warning)
    get_logger().warning("%s", warning)


def include(session: Session, path: str):
    """Run other files as part of the config being loaded (``God.load``).

    ``path`` is taken from the including file's folder. A glob runs every matching file
    in sorted order. Each file passes the same trust check as the config and runs once
    per load (a second ``God.load`` returns the same module). Their watches, tasks and
    contacts join the config's.

    Returns:
        for a file, the file as a module: ``helpers = God.load("helpers.py")``;
        ``helpers.policy(w)``; for a glob, the list of modules, in order.

    Raises:
        ConfigError: a file is unreadable, untrusted, or not valid Python.
    """
    here = os.path.dirname(LOADING_FILE.get() or session.path)
    full = os.path.join(here, os.path.expanduser(path))
    if not glob.has_magic(path):
        return _include_file(session, os.path.abspath(full))
    files = sorted(glob.glob(os.path.join(glob.escape(here), os.path.expanduser(path))))
    if not files:
        warning = f"{config_location()}: God.load({path!r}) matches no file"
        session.warnings.append(warning)
        get_logger().warning("%s", warning)
    return [_include_file(session, os.path.abspath(f)) for f in files if os.path.isfile(f)]


def _include_file(session: Session, full: str) -> types.ModuleType:
    """Run file ``full`` once per load as a module (a second call returns it)."""
    if full in session.included:
        return session.included[full]
    source = read_trusted(session, full)
    try:
        code = compile(source, full, "exec")
    except SyntaxError as exc:
        raise ConfigError(f"{full}:{exc.lineno}: syntax error: {exc.msg}") from None
    stem = re.sub(r"\W", "_", os.path.basename(full).split(".")[0])
    module = _module(session, full, f"__godpy_config__.{stem}")
    token = LOADING_FILE.set(full)
    try:
        exec(code, module.__dict__)
    finally:
        LOADING_FILE.reset(token)
    return module


def _module(session: Session, path: str, name: str) -> types.ModuleType:
    """A fresh module for config file ``path``, registered so it runs once per load."""
    module = types.ModuleType(name)
    module.__file__ = path
    session.included[path] = module
    return module


def _run_all(sources: list[tuple[str, str]], session: Session) -> None:
    """Run each top-level file, recording set-time problems at their lines."""
    token = PROBLEMS.set(session.problems)
    try:
        for path, source in sources:
            _run(path, source, session)
    finally:
        PROBLEMS.reset(token)


def _run(path: str, source: str, session: Session) -> None:
    """Run one top-level config file; an exception ends this file, recorded at its line."""
    if path in session.included:
        return  # already run by another file's God.load
    try:
        code = compile(source, path, "exec")
    except SyntaxError as exc:
        session.problems.append(f"{path}:{exc.lineno}: syntax error: {exc.msg}")
        return
    module = _module(session, path, "__godpy_config__")
    token = LOADING_FILE.set(path)
    try:
        exec(code, module.__dict__)
    except (AttributeProblem, ConfigError) as exc:
        session.problems.append(f"{_location(list(session.included), exc)}: {exc}")
    except Exception as exc:
        where = _location(list(session.included), exc)
        session.problems.append(f"{where}: {type(exc).__name__}: {exc}")
    finally:
        LOADING_FILE.reset(token)


def _close(session: Session) -> None:
    """Check what was never used as a ``with`` block, then every ``notify`` name."""
    token = LOADING_FILE.set(session.path)
    try:
        session.close_all()
    except AttributeProblem as exc:
        session.problems.append(f"{session.path}: {exc}")
    finally:
        LOADING_FILE.reset(token)
