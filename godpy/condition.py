"""Condition bases for plugin authors: PollCondition, EventCondition, TriggerCondition.

A condition is declared on a metric; the driver of its task tests it (poll), or it is
fired by the event handler (event) or by the task's own state changes (trigger).

The public contract, kept stable (docs/writing-conditions.md walks through it)::

    from godpy.condition import PollCondition

    class LoadAverage(PollCondition):
        above = None                     # settable attributes: class attributes with
        minutes = 1                      # their defaults; nothing else may be set
        required = ("above",)            # must not be None when the config block closes
        units = {}                       # attribute -> "seconds" | "kilobytes" | "percent"

        def valid(self):                 # optional: a list of problem strings
            problems = super().valid()
            ...
            return problems

        def prepare(self):               # optional: normalize once the block closes
            super().prepare()            # (PollCondition sizes ``times`` here)

        def reset(self):                 # optional: forget history when the state is left
            super().reset()

        def test(self):                  # True when it holds; may set self.info
            self.info = "load 3.2"
            return True

Register it as an entry point in the group ``godpy.conditions`` (the built-ins in
``godpy.conditions`` are registered the same way), load the file with
``God.load_plugins(dir)``, or pass the class itself: ``on.condition(LoadAverage)``.
"""

from __future__ import annotations

from typing import Any

# The plugin API besides the bases below: what the built-ins use, offered to every plugin.
from godpy import http_probe  # noqa: F401 (http_probe.get: an HTTP GET with one deadline)
from godpy.command_runner import CommandResult, argv_for, run_command  # noqa: F401
from godpy.configurable import Configurable, problem
from godpy.pids import age as process_age  # noqa: F401 (seconds, to the clock tick)
from godpy.pids import describe_status  # noqa: F401
from godpy.pids import watched_pid as _watched_pid
from godpy.system import (  # noqa: F401 (process readings)
    cpu_seconds,
    listening_ports,
    live_children,
    memory_kb,
    open_files,
    thread_count,
)
from godpy.timeline import Readings, Timeline  # noqa: F401

#: What a condition is bound to, named here without importing them: the condition
#: layer sits below the task layer (``godpy.task.Task``, ``godpy.metric.Metric``).
Task = Any
Metric = Any


def normalize_notify(spec) -> tuple[list[str], str | None, str | None]:
    """Turn a ``notify`` value into (names, priority, category).

    Raises:
        ValueError: the value is not a name, a list of names or a dict with ``contacts``.
    """
    if isinstance(spec, str):
        return [spec], None, None
    if isinstance(spec, (list, tuple)) and all(isinstance(n, str) for n in spec):
        return list(spec), None, None
    if isinstance(spec, dict) and set(spec) <= {"contacts", "priority", "category"}:
        names, _, _ = normalize_notify(spec.get("contacts", []))
        priority, category = spec.get("priority"), spec.get("category")
        return names, None if priority is None else str(priority), category
    raise ValueError(
        f"bad notify {spec!r}; use a contact or group name, a list of names, "
        "or {'contacts': [...], 'priority': 1, 'category': 'x'}"
    )


class Condition(Configurable):
    """What every condition has.

    Attributes:
        transition: state to move to when the condition triggers, overriding the
            metric's destination (default None).
        notify: contact or group name(s) told when it triggers (default None).
    """

    kind = "condition"
    transition: str | None = None
    notify: str | list[str] | dict | None = None

    def __init__(self, **attrs):
        self._task = None
        self._metric = None
        self._info = None
        self._token = 0
        super().__init__(**attrs)

    @property
    def task(self) -> Task:
        """The task (or watch) this condition belongs to."""
        return self._task

    watch = task

    @property
    def metric(self) -> Metric:
        """The metric holding this condition."""
        return self._metric

    @property
    def info(self) -> Any:
        """Text shown in the log line and notifications: a str, a list of str, or None."""
        return self._info

    @info.setter
    def info(self, value) -> None:
        self._info = value

    def watched_pid(self) -> int | None:
        """The pid this condition looks at: its own ``pid_file``'s if it has one (and the
        process lives), else its watch's live process; None when there is none."""
        return _watched_pid(self)

    def after(self, delay: float, func, *args):
        """Run ``func(*args)`` on the task's driver in ``delay`` seconds (a timer that any
        operator command on the task cancels); returns a Future with ``cancel()``."""
        return self._task.after(delay, func, *args)

    def now(self) -> float:
        """The task's driver clock (monotonic seconds; a fake one in unit tests)."""
        return self._task.driver.clock()

    def bind(self, task: Task, metric: Metric) -> None:
        """Attach this condition to its task and metric (done by ``Metric.condition``)."""
        self._task = task
        self._metric = metric

    def valid(self) -> list[str]:
        """Check the common attributes; subclasses add their own problems."""
        problems = super().valid()
        if self.notify is not None:
            try:
                normalize_notify(self.notify)
            except ValueError as exc:
                problems.append(problem(f"{self.describe()}: {exc}", self.line_of("notify")))
        return problems


class PollCondition(Condition):
    """A condition tested every ``interval`` seconds by its task's driver.

    Subclasses implement ``test()`` returning a bool, and may set ``self.info``.

    Attributes:
        interval: seconds between tests (default: the watch's interval).
        first_check: seconds from entering the state to the first test (default 0: at
            once, as God does).
        times: trigger when true ``x`` times in the last ``y`` tests; an int ``n`` means
            ``(n, n)``; default 1.

    A subclass whose ``times`` means something else (``tries`` counts checks) sets the
    class attribute ``windowed = False``: every check then stands alone, and it checks its
    own ``times``.
    """

    interval: float | str | None = None
    first_check: float | str = 0
    times: int | tuple[int, int] = 1
    units = {"interval": "seconds", "first_check": "seconds"}
    windowed = True

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._timeline = Timeline(1)
        self._times = (1, 1)

    def prepare(self) -> None:
        """Normalize ``times`` and size the timeline."""
        super().prepare()
        times = self.times if self.windowed else 1
        if isinstance(times, int) and not isinstance(times, bool):
            times = (times, times)
        if isinstance(times, (tuple, list)) and len(times) == 2:
            self._times = (int(times[0]), int(times[1]))
            self._timeline = Timeline(max(1, self._times[1]))

    def valid(self) -> list[str]:
        """Check ``times`` and ``interval`` besides the common attributes."""
        problems = super().valid()
        t = self.times if self.windowed else 1
        if isinstance(t, int) and not isinstance(t, bool):
            t = (t, t)
        ok = isinstance(t, (tuple, list)) and len(t) == 2 and all(isinstance(n, int) for n in t)
        if not ok or not 1 <= t[0] <= t[1]:
            problems.append(
                problem(
                    f"{self.describe()}: bad times {self.times!r}; use n or (x, y) with "
                    "1 <= x <= y",
                    self.line_of("times"),
                )
            )
        if self.interval is not None and self.interval <= 0:
            problems.append(
                problem(f"{self.describe()}: interval must be positive", self.line_of("interval"))
            )
        return problems

    def test(self) -> bool:
        """Return True when the condition holds for this reading."""
        raise NotImplementedError(f"{type(self).__name__} must implement test()")

    def check(self) -> bool:
        """Run ``test()``, record it, and return whether ``times`` is satisfied."""
        self._timeline.push(bool(self.test()))
        return self._timeline.count(True) >= self._times[0]

    def reset(self) -> None:
        """Forget the readings: ``times`` starts again when the state is entered again."""
        self._timeline.clear()


class EventCondition(Condition):
    """A condition fired by an event source (for example the exit of a process).

    Subclasses implement ``register()`` and ``deregister()``; ``register`` hands
    ``self.callback()`` to the event source. ``accept(payload)`` may filter events.
    """

    def callback(self):
        """Return a callable for the event source; it posts the event to the task's driver.

        The callable remembers the registration it belongs to, so an event for an old
        registration (an earlier pid) is ignored.
        """
        token = self._token
        task = self._task

        def fire(payload=None):
            task.trigger(self, token, payload)

        fire.takes_ticket = True  # the driver gives up an exit's backlog ticket
        return fire

    def arm(self) -> None:
        """Start a new registration (the task calls this before ``register``)."""
        self._token += 1

    def disarm(self) -> None:
        """End the current registration (the task calls this before ``deregister``)."""
        self._token += 1

    def is_current(self, token: int) -> bool:
        """True when ``token`` belongs to the current registration."""
        return token == self._token

    def register(self) -> None:
        """Start listening to the event source."""
        raise NotImplementedError(f"{type(self).__name__} must implement register()")

    def deregister(self) -> None:
        """Stop listening to the event source."""
        raise NotImplementedError(f"{type(self).__name__} must implement deregister()")

    def accept(self, payload) -> bool:
        """Return True if this event should trigger; may set ``self.info``."""
        return True


class TriggerCondition(Condition):
    """A condition that watches its own task's state changes (for example flapping).

    Subclasses implement ``process(event, payload)`` and call ``self.trigger()``.
    """

    def arm(self) -> None:
        """Start listening (the task calls this when the condition's state is entered)."""
        self._token += 1

    def disarm(self) -> None:
        """Stop listening: a trigger still queued from before is ignored."""
        self._token += 1

    def process(self, event: str, payload) -> None:
        """Called on the driver with ``("state_change", (from_state, to_state))``."""
        raise NotImplementedError(f"{type(self).__name__} must implement process()")

    def trigger(self, payload=None) -> None:
        """Post this condition's trigger to the front of the task's queue."""
        self._task.trigger(self, self._token, payload)

    def is_current(self, token: int) -> bool:
        """Trigger conditions stay current while they are attached."""
        return token == self._token

    def accept(self, payload) -> bool:
        """Trigger conditions always accept their own triggers."""
        return True


class ThresholdCondition(PollCondition):
    """True when ``read(pid)`` of the watched process is above ``above``.

    The log line and notifications show the recent readings, a star on each one over the
    limit: ``memory out of bounds [*51200kb, 2032kb]``.

    Subclasses set ``_label`` (the word in the log line), ``_unit`` and ``_digits`` for
    the readings, and implement ``read(pid)``; ``forget()`` drops any state of ``read``.

    Attributes:
        above: the limit (required).
        times: true ``x`` times in the last ``y`` checks (default 1).
        pid_file: read the pid from this file instead of the watch's.
    """

    above = None
    pid_file = None
    required = ("above",)
    _label = "reading"
    _unit = ""
    _digits = 0

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._readings = Readings(1, self._unit, self._digits)

    def prepare(self) -> None:
        """Keep as many readings as ``times`` looks at, for the log line."""
        super().prepare()
        self._readings = Readings(self._times[1], self._unit, self._digits)

    def read(self, pid: int) -> float:
        """The current reading of process ``pid``."""
        raise NotImplementedError(f"{type(self).__name__} must implement read(pid)")

    def forget(self) -> None:
        """Drop state kept between readings (the process is gone or the state was left)."""

    def test(self) -> bool:
        """Read the value and compare it with the limit."""
        pid = self.watched_pid()
        if pid is None:
            self.info = "process is not running"
            self.forget()
            return False
        value = self.read(pid)
        self._readings.push(value)
        bounds = "out of bounds" if value > self.above else "within bounds"
        self.info = f"{self._label} {bounds} {self._readings.render(self.above)}"
        return value > self.above

    def reset(self) -> None:
        """Forget the readings too."""
        super().reset()
        self.forget()
        self._readings.clear()


class CountCondition(ThresholdCondition):
    """A threshold on a whole count (descriptors, threads): ``above`` must be an int."""

    _what = "items"

    def valid(self) -> list[str]:
        """The limit is a whole, non-negative number."""
        problems = super().valid()
        if self.above is not None and (not isinstance(self.above, int) or self.above < 0):
            problems.append(f"{self.describe()}: above must be a number of {self._what}")
        return problems
