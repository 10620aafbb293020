"""What a config file calls: ``God.watch()``, ``God.task()``, ``God.contact()``,
``God.load()``, ``God.load_plugins()``, ``God.<setting>``, ``env()``.

``God`` is a facade over the config session being loaded on this thread; a fresh session
per load keeps the daemon free of global state.
"""

from __future__ import annotations

import os
from typing import Any

from godpy.configurable import LOADING_FILE, collecting, record, suggest
from godpy.errors import AttributeProblem, ConfigError
from godpy.session import (
    CURRENT,  # noqa: E402 (the session being loaded)
    Session,
)
from godpy.task import Task
from godpy.watch import Watch

_REQUIRED = object()


def current_session() -> Session:
    """The session of the config being loaded.

    Raises:
        ConfigError: no config is being loaded (the file was run with plain ``python``).
    """
    session = CURRENT.get()
    if session is None:
        raise ConfigError("godpy configs are loaded by the daemon: run `godpy -c FILE -D`")
    return session


def _setting(name: str) -> Any:
    def get(self) -> Any:
        return current_session().settings[name]

    def put(self, value: Any) -> None:
        current_session().set_setting(name, value)

    return property(get, put, doc=f"God.{name} (set it before the first watch)")


class GodFacade:
    """The ``God`` object of config files.

    Settings (set them before the first watch): ``pid_file_directory``, ``use_events``,
    ``terminate_timeout``, ``log_buffer_size``, ``notify_interval`` (seconds between two
    notifications for the same watch, condition and contact; default 60),
    ``socket_group`` (members of this group may command the daemon: socket 0660),
    ``state_file`` (where the operator's intent is kept across restarts of godpy),
    ``metrics_address`` (``"127.0.0.1:9101"``: serve Prometheus metrics there).
    """

    def watch(self, **attrs) -> Watch:
        """Define a watch; use it as ``with God.watch() as w:``."""
        return current_session().new_task(Watch, attrs)

    def task(self, **attrs) -> Task:
        """Define a generic task (a state machine without a process)."""
        return current_session().new_task(Task, attrs)

    def contact(self, kind, **attrs):
        """Define a contact of plugin ``kind`` ("email", "webhook", ...); use it as
        ``with God.contact("email") as c:``. Conditions name it (or its group) in
        ``notify``."""
        return current_session().new_contact(kind, attrs)

    def load_plugins(self, path: str) -> list[tuple[str, str]]:
        """Load plugin files for this config: every ``*.py`` in folder ``path`` (or one file).

        Each file holds one Condition, Behavior or Contact class, used under the file's
        name (``load_average.py`` -> ``"load_average"``). A relative ``path`` is taken from
        the folder of the file calling it. The folder and each file must pass the same ownership
        check as the config. Returns (kind, name) of each plugin loaded.
        """
        from godpy.config import check_trusted

        session = current_session()
        folder = os.path.dirname(LOADING_FILE.get() or os.path.abspath(session.path))
        target = os.path.join(folder, os.path.expanduser(path))
        for file in [target] + _python_files(target) if os.path.exists(target) else []:
            check_trusted(session, file)
        return session.plugins.load_dir(target)

    def load(self, path: str):
        """Run other files as part of this config, as God's ``God.load`` does.

        ``path`` is a file, returned as a module, or a glob (``"conf.d/*.god.py"``): each
        matching file runs in sorted order and the list of modules is returned (none
        match: a warning). The config's folder is not on ``sys.path``, so ``import
        helpers`` finds no sibling file: name it instead. A relative ``path`` is taken
        from the folder of the file calling ``God.load``; each file must pass the same
        ownership check as the config. Their watches and contacts join the config's;
        each file runs once per load (``godpy load`` runs them all again).

        Example:
            ``policies = God.load("policies.py")`` then ``policies.worker(w)``;
            ``God.load("conf.d/*.god.py")`` to split a config in parts.
        """
        from godpy.config import include

        return include(current_session(), path)

    pid_file_directory: str | None = _setting("pid_file_directory")
    use_events: bool = _setting("use_events")
    terminate_timeout: float | None = _setting("terminate_timeout")
    log_buffer_size: int = _setting("log_buffer_size")
    notify_interval: float = _setting("notify_interval")
    socket_group: str | int | None = _setting("socket_group")
    state_file: str | None = _setting("state_file")
    metrics_address: str | None = _setting("metrics_address")

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            if not isinstance(getattr(type(self), name, None), property):
                settings = list(current_session().settings)
                raise AttributeProblem(f"unknown setting God.{name}{suggest(name, settings)}")
            object.__setattr__(self, name, value)
        except AttributeProblem as exc:
            if not collecting():
                raise
            record(exc)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        settings = list(current_session().settings)
        raise AttributeProblem(f"unknown setting God.{name}{suggest(name, settings)}")


God = GodFacade()


def _python_files(path: str) -> list[str]:
    """The ``*.py`` files of folder ``path`` (none when it is a file or missing)."""
    if not os.path.isdir(path):
        return []
    return sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".py"))


def env(name: str, default: Any = _REQUIRED, cast=None) -> Any:
    """Read an environment variable for a config, with a default and a type.

    Args:
        name: the variable.
        default: the value when it is unset; without one, an unset variable is an error.
        cast: a function applied to the string (``int``, ``float``, ...).

    Raises:
        AttributeProblem: the variable is required but unset, or ``cast`` refuses it. The
            message names the variable, never its value (it may be a secret).
    """
    raw = os.environ.get(name)
    if raw is None:
        if default is _REQUIRED:
            raise AttributeProblem(f"environment variable {name} is required but not set")
        return default
    if cast is None:
        return raw
    try:
        return cast(raw)
    except (TypeError, ValueError):
        # the value may be a secret, and the exception's text quotes it: name only the
        # variable and the type wanted
        kind = getattr(cast, "__name__", type(cast).__name__)
        raise AttributeProblem(
            f"environment variable {name} is not a valid {kind} (value not shown); "
            f"fix {name} in the daemon's environment"
        ) from None
