"""Config loading: run a config file and turn every problem into ``file:line: text``."""

from __future__ import annotations

import builtins
import os
import sys
import traceback

from godpy.configurable import LOADING_FILE
from godpy.dsl import CURRENT
from godpy.errors import AttributeProblem, ConfigError
from godpy.process import Children
from godpy.session import Session


def _location(path: str, exc: BaseException) -> str:
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if os.path.abspath(frame.f_code.co_filename) == path:
            line = lineno
    return f"{path}:{line}" if line else path


def load(
    path: str, events: bool = False, children: Children | None = None, contacts=None
) -> Session:
    """Run the config file at ``path`` and return its checked session.

    Args:
        path: the config file.
        events: whether process-exit events work, so keepalive can use them.
        children: the daemon's child tracker.
        contacts: contacts already defined (a running daemon's), which ``notify`` may name.

    Raises:
        ConfigError: with one line per problem; nothing has been started.
    """
    path = os.path.abspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    session = Session(path, events, children, contacts)
    tokens = CURRENT.set(session), LOADING_FILE.set(path)
    sys.path.insert(0, os.path.dirname(path))
    try:
        _run(path, source, session)
    finally:
        sys.path.remove(os.path.dirname(path))
        CURRENT.reset(tokens[0])
        LOADING_FILE.reset(tokens[1])
    if session.problems:
        raise ConfigError(session.problems)
    return session


def _run(path: str, source: str, session: Session) -> None:
    try:
        code = compile(source, path, "exec")
    except SyntaxError as exc:
        session.problems.append(f"{path}:{exc.lineno}: syntax error: {exc.msg}")
        return
    namespace = {"__file__": path, "__name__": "__godpy_config__", "__builtins__": builtins}
    try:
        exec(code, namespace)
    except (AttributeProblem, ConfigError) as exc:
        session.problems.append(f"{_location(path, exc)}: {exc}")
        return
    except Exception as exc:
        session.problems.append(f"{_location(path, exc)}: {type(exc).__name__}: {exc}")
        return
    try:
        session.close_all()
    except AttributeProblem as exc:
        session.problems.append(f"{path}: {exc}")
