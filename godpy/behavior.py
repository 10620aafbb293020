"""Behavior base for plugin authors: hooks run before and after a watch's actions.

The public contract, kept stable::

    from godpy.behavior import Behavior, BehaviorError

    class TouchFile(Behavior):
        path = None                      # declared attributes, with their defaults
        required = ("path",)

        def before_start(self):          # before_/after_ + any action of the task
            ...
            return "touched it"          # optional: logged on the watch's log
"""

from __future__ import annotations

from collections.abc import Callable

from godpy.command_runner import CommandResult, argv_for, run_command  # noqa: F401 (plugin API)
from godpy.configurable import Configurable, suggest  # noqa: F401 (plugin API: suggest)
from godpy.errors import GodpyError
from godpy.system import listening_ports  # noqa: F401 (plugin API)


class BehaviorError(GodpyError):
    """Raised by a hook to report a failure in one log line, without a traceback."""


class Behavior(Configurable):
    """A plugin with ``before_<action>`` / ``after_<action>`` hooks around a task's actions.

    Actions are ``start``, ``stop`` and ``restart`` for a watch, and the state names of a
    generic task. A hook runs on the task's driver thread. It may return a string, which
    is logged; raise ``BehaviorError`` to log a clear one-line error, or any other
    exception to log it with its traceback. A hook cannot veto its action: the action runs
    whatever ``before_*`` did. Anything that may block needs a ``timeout``.

    Like conditions, behaviors declare their attributes as class attributes with defaults,
    may list ``required`` ones and ``units``, and may extend ``valid()`` (a list of problem
    strings) and ``prepare()``.
    """

    kind = "behavior"

    def __init__(self, **attrs):
        self._task = None
        super().__init__(**attrs)

    @property
    def task(self):
        """The task (or watch) this behavior belongs to."""
        return self._task

    watch = task

    def bind(self, task) -> None:
        """Attach this behavior to its task."""
        self._task = task

    def hook(self, when: str, action: str) -> Callable[[], object] | None:
        """The hook to run ``when`` ("before" or "after") ``action``, or None.

        The default is the method ``<when>_<action>``; override it to choose hooks from
        attributes (as ``run_command`` does).
        """
        return getattr(self, f"{when}_{action}", None)
