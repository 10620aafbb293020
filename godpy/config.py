"""Config loading: run a config file and turn every problem into ``file:line: text``.

A config is code run with the daemon's rights (root, usually), so a file is run only when
nobody but root and the daemon's user could have written it (``trust_problem``). Its
folder is not put on ``sys.path``: a module planted next to it is never imported by
accident; a sibling file is run only when the config names it (``God.load``).
"""

from __future__ import annotations

import builtins
import os
import re
import traceback
import types

from godpy.configurable import LOADING_FILE
from godpy.dsl import CURRENT
from godpy.errors import AttributeProblem, ConfigError
from godpy.log import get_logger
from godpy.process import Children
from godpy.session import Session
from godpy.trust import trust_problem


def _location(files, exc: BaseException) -> str:
    """``file:line`` of the innermost frame of ``exc`` in one of the config's ``files``."""
    where = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = os.path.abspath(frame.f_code.co_filename)
        if filename in files:
            where = f"{filename}:{lineno}"
    return where or next(iter(files))


def load(
    path: str,
    events: bool = False,
    children: Children | None = None,
    contacts=None,
    insecure: bool = False,
) -> Session:
    """Run the config file at ``path`` and return its checked session.

    Args:
        path: the config file.
        events: whether process-exit events work, so keepalive can use them.
        children: the daemon's child tracker.
        contacts: contacts already defined (a running daemon's), which ``notify`` may name.
        insecure: run files that others could have written, with a warning
            (``--insecure-config``); the warnings are in ``session.warnings``.

    Raises:
        ConfigError: with one line per problem; nothing has been started.
    """
    path = os.path.abspath(path)
    session = Session(path, events, children, contacts, insecure=insecure)
    source = read_trusted(session, path)
    tokens = CURRENT.set(session), LOADING_FILE.set(path)
    try:
        _run(path, source, session)
    finally:
        CURRENT.reset(tokens[0])
        LOADING_FILE.reset(tokens[1])
    if session.problems:
        raise ConfigError(session.problems)
    return session


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


def include(session: Session, path: str) -> types.ModuleType:
    """Run another file as part of the config being loaded (``God.load``).

    ``path`` is taken from the including file's folder. The file passes the same trust
    check as the config; each file runs once per load (a second ``God.load`` returns the
    same module). Its watches, tasks and contacts join the config's.

    Returns:
        the file as a module: ``helpers = God.load("helpers.py")``; ``helpers.policy(w)``.

    Raises:
        ConfigError: the file is unreadable, untrusted, or not valid Python.
    """
    here = os.path.dirname(LOADING_FILE.get() or session.path)
    full = os.path.abspath(os.path.join(here, os.path.expanduser(path)))
    if full in session.included:
        return session.included[full]
    source = read_trusted(session, full)
    try:
        code = compile(source, full, "exec")
    except SyntaxError as exc:
        raise ConfigError(f"{full}:{exc.lineno}: syntax error: {exc.msg}") from None
    stem = re.sub(r"\W", "_", os.path.basename(full).split(".")[0])
    module = types.ModuleType(f"__godpy_config__.{stem}")
    module.__file__ = full
    session.included[full] = module
    token = LOADING_FILE.set(full)
    try:
        exec(code, module.__dict__)
    finally:
        LOADING_FILE.reset(token)
    return module


def _run(path: str, source: str, session: Session) -> None:
    try:
        code = compile(source, path, "exec")
    except SyntaxError as exc:
        session.problems.append(f"{path}:{exc.lineno}: syntax error: {exc.msg}")
        return
    namespace = {"__file__": path, "__name__": "__godpy_config__", "__builtins__": builtins}
    files = [path]
    try:
        exec(code, namespace)
    except (AttributeProblem, ConfigError) as exc:
        session.problems.append(f"{_location(files + list(session.included), exc)}: {exc}")
        return
    except Exception as exc:
        where = _location(files + list(session.included), exc)
        session.problems.append(f"{where}: {type(exc).__name__}: {exc}")
        return
    try:
        session.close_all()
    except AttributeProblem as exc:
        session.problems.append(f"{path}: {exc}")
