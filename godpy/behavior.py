"""Behavior base: hooks run before and after a watch's actions."""

from __future__ import annotations

from godpy.configurable import Configurable


class Behavior(Configurable):
    """A plugin with ``before_<action>`` / ``after_<action>`` hooks.

    A hook may return a string, which is logged, or raise, which is logged with the
    watch's name; it cannot veto the action. Hooks exist for every action of the task
    (``start``, ``stop``, ``restart`` for a watch; the state commands of a task).
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
