"""TaskConfig: the declared side of a task (attributes, transitions, behaviors, checks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from godpy.behavior import Behavior
from godpy.condition import PollCondition
from godpy.configurable import (
    Configurable,
    StandIn,
    collecting,
    prefixed,
    problem,
    record,
    suggest,
)
from godpy.errors import AttributeProblem
from godpy.metric import Metric
from godpy.readiness import READY_IF

UNMONITORED = "unmonitored"
LIFECYCLE = None


class TaskConfig(Configurable):
    """What a config declares for a task: attributes, transitions, behaviors, and the checks
    run when its block closes. ``Task`` adds the running state machine.

    Attributes:
        name: unique name (required).
        group: optional group name, for commands addressing several tasks.
        interval: default poll interval in seconds for conditions without their own.
        valid_states: the states of this task (required for a generic task).
        initial_state: state entered when monitoring starts (required for a generic task).
        autostart: start monitoring when the daemon starts (default True).
        command_timeout: seconds a state's shell command may run before its process
            group is killed (default 60).

    A generic task binds a command to a state God's way: ``t.clean = "rm -f /tmp/x"``
    or ``t.clean = some_function`` runs it each time the task enters ``clean``.
    """

    kind = "task"
    name: str | None = None
    group: str | None = None
    interval: float | str | None = None
    valid_states: list[str] | tuple[str, ...] | None = None
    initial_state: str | None = None
    autostart: bool = True
    command_timeout: float | str = 60
    units = {"interval": "seconds", "command_timeout": "seconds"}
    required = ("name",)

    def __init__(self, plugins=None, **attrs):
        self._metrics: dict[Any, list[Metric]] = {}
        self._behaviors: list[Behavior] = []
        self._commands: dict[str, Any] = {}
        self._plugins = plugins
        self._on_close: Callable | None = None
        self._events_enabled = False
        self._closed = False
        super().__init__(**attrs)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self._on_close is not None:
            self._on_close(self)

    # -- config DSL ----------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        states = self.__dict__.get("valid_states") or ()
        if name in states and name not in type(self)._declared:
            self._commands[name] = value
            self.remember_line(name)
            return
        super().__setattr__(name, value)

    def describe(self) -> str:
        """Return how messages name this task."""
        return f"{self.kind} '{self.name}'" if self.name else f"{self.kind} (unnamed)"

    @property
    def plugins(self):
        """The plugin registry used to find conditions and behaviors by name."""
        if self._plugins is None:
            from godpy.registry import Plugins

            self._plugins = Plugins()
        return self._plugins

    @property
    def metrics(self) -> dict:
        """State -> list of metrics; the key None holds the lifecycle metrics."""
        return self._metrics

    @property
    def behaviors(self) -> list[Behavior]:
        """The behaviors whose hooks run around actions."""
        return self._behaviors

    def all_states(self) -> list[str]:
        """Every state a transition may name, ``unmonitored`` included."""
        return [UNMONITORED, *(self.valid_states or ())]

    def transition(self, from_states, to) -> Metric:
        """Declare a metric: from ``from_states``, go to ``to`` (a state or {True:, False:}).

        A transition given no condition moves at once (an ``always`` condition is added
        when the config block closes).
        """
        metric = Metric(self, to)
        for state in [from_states] if isinstance(from_states, str) else list(from_states):
            self._metrics.setdefault(state, []).append(metric)
        return metric

    def lifecycle(self) -> Metric:
        """Declare conditions active for the whole monitored period (no destination)."""
        metric = Metric(self, None)
        self._metrics.setdefault(LIFECYCLE, []).append(metric)
        return metric

    def behavior(self, kind, **attrs) -> Behavior:
        """Add a behavior by registered name or by class (an unknown one is recorded
        while a config loads, and a stand-in returned)."""
        try:
            cls = self.plugins.behavior(kind)
        except AttributeProblem as exc:
            if not collecting():
                raise
            record(exc)
            return StandIn()
        beh = cls(**attrs)
        beh.bind(self)
        self._behaviors.append(beh)
        return beh

    def each_condition(self):
        """Yield (state, metric, condition) for every declared condition, once each."""
        seen = set()
        for state, metrics in self._metrics.items():
            for metric in metrics:
                for cond in metric.conditions:
                    if id(cond) not in seen:
                        seen.add(id(cond))
                        yield state, metric, cond

    def prepare(self) -> None:
        """Complete the config: empty transitions get ``always``, conditions prepare and
        inherit the task's interval (when it is a good one)."""
        for metrics in self._metrics.values():
            for metric in metrics:
                if not (metric.conditions or metric.incomplete) and metric.destination:
                    metric.condition("always", what=True)._where = metric._where
        for _state, _metric, cond in self.each_condition():
            cond.prepare()
            if isinstance(cond, PollCondition) and cond.interval is None and _positive(self):
                cond.interval = self.interval

    def valid(self) -> list[str]:
        """Return every problem of this task, its metrics, conditions and behaviors, each
        located at the line that set the attribute or added the condition at fault."""
        problems = super().valid()
        if not self.valid_states:
            problems.append(f"{self.describe()}: 'valid_states' is required")
        elif self.initial_state not in self.valid_states:
            problems.append(
                problem(
                    f"{self.describe()}: initial_state {self.initial_state!r} is not one of "
                    f"{list(self.valid_states)}",
                    self.line_of("initial_state", "valid_states"),
                )
            )
        if self.interval is not None and not _positive(self):
            problems.append(
                problem(
                    f"{self.describe()}: interval must be more than 0 seconds, got "
                    f"{self.interval:g}",
                    self.line_of("interval"),
                )
            )
        problems += self._check_states()
        for _state, _metric, cond in self.each_condition():
            problems += [prefixed(self.describe(), p, cond._where) for p in cond.valid()]
            if isinstance(cond, PollCondition) and cond.interval is None and self.interval is None:
                problems.append(
                    problem(
                        f"{self.describe()}: {cond.describe()} has no interval and the "
                        f"{self.kind} has none to inherit; set interval on either",
                        cond._where,
                    )
                )
        for beh in self._behaviors:
            problems += [prefixed(self.describe(), p, beh._where) for p in beh.valid()]
        return problems

    def _check_states(self) -> list[str]:
        known = self.all_states()
        problems = []

        def check(state, role, where):
            if state not in known:
                problems.append(
                    problem(
                        f"{self.describe()}: transition {role} unknown state {state!r}"
                        f"{suggest(str(state), known)} (states: {', '.join(known)})",
                        where,
                    )
                )

        seen = set()
        for state, metrics in self._metrics.items():
            for metric in metrics:
                if state is not LIFECYCLE and state != READY_IF:
                    check(state, "from", metric._where)
                if id(metric) not in seen:
                    seen.add(id(metric))
                    for dest in (metric.destination or {}).values():
                        check(dest, "to", metric._where)
        for _s, _m, cond in self.each_condition():
            if cond.transition is not None:
                check(cond.transition, "to", cond.line_of("transition"))
        return problems


def _positive(task: TaskConfig) -> bool:
    """True when the task's interval is set and more than 0 seconds."""
    return isinstance(task.interval, (int, float)) and task.interval > 0
