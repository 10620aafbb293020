"""Metric: conditions that share one destination, ``{True: state, False: state}``."""

from __future__ import annotations

from typing import Any

from godpy.condition import Condition
from godpy.configurable import StandIn, collecting, config_location, record
from godpy.errors import AttributeProblem

#: The owning task (``godpy.task.Task``), named without importing the task layer.
Task = Any


def normalize_destination(destination) -> dict | None:
    """Turn ``"up"`` or ``{True: "up", False: "start"}`` into a dict (None for lifecycle)."""
    if destination is None:
        return None
    if isinstance(destination, str):
        return {True: destination}
    if isinstance(destination, dict) and set(destination) <= {True, False}:
        return dict(destination)
    raise ValueError(
        f"bad destination {destination!r}; use a state name or {{True: 'a', False: 'b'}}"
    )


class Metric:
    """A group of conditions and where the task goes when one of them is true or false.

    Use it as a ``with`` block and add conditions with ``on.condition(name, **attrs)``.

    Args:
        task: the owning task.
        destination: a state name, ``{True: a, False: b}``, or None (lifecycle).
    """

    def __init__(self, task: Task, destination=None):
        self.task = task
        self._where = config_location()  # the line of ``transition(...)``: its problems go there
        self.destination = normalize_destination(destination)
        self.conditions: list[Condition] = []
        #: a condition of it could not be made (the config is refused): it is not empty
        self.incomplete = False

    def __enter__(self) -> Metric:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def condition(self, kind, **attrs) -> Condition:
        """Add a condition by registered name (``"memory_usage"``) or by class.

        Returns:
            the condition, usable as a ``with`` block to set more attributes. While a
            config loads, an unknown ``kind`` is recorded and a stand-in returned, so
            the config's later lines are checked too.
        """
        try:
            cls = self.task.plugins.condition(kind)
        except AttributeProblem as exc:
            if not collecting():
                raise
            record(exc)
            self.incomplete = True
            return StandIn()
        cond = cls(**attrs)
        cond.bind(self.task, self)
        self.conditions.append(cond)
        return cond

    def enable(self) -> None:
        """Attach every condition (schedule polls, register events)."""
        for cond in self.conditions:
            self.task.attach(cond)

    def disable(self) -> None:
        """Detach every condition."""
        for cond in self.conditions:
            self.task.detach(cond)
