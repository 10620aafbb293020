"""flapping: a watch changing state too often, e.g. a process that dies at each start."""

import logging

from godpy.condition import Timeline, TriggerCondition


class Flapping(TriggerCondition):
    """Triggers when the watch enters the filtered states ``times`` times within ``within``.

    Put it in ``w.lifecycle()`` with ``transition="unmonitored"``. With ``retry_in`` the
    watch is monitored again after that delay, unless it flapped ``retry_times`` times
    within ``retry_within``: then it gives up and stays unmonitored. The retry is a timer
    of the watch; any command by the operator meanwhile (``stop``, ``monitor``, ...)
    cancels it.

    Attributes:
        times: state changes that make it flapping (default 5).
        within: seconds in which they must happen (required).
        to_state: count changes into this state or list of states (e.g. ``["start",
            "restart"]``); from_state: count changes out of these states (at least one of
            the two is required).
        transition: where to go when it triggers (usually "unmonitored").
        retry_in: seconds after which monitoring resumes (default: never).
        retry_times: flaps within ``retry_within`` after which it gives up (default 5).
        retry_within: seconds (default 2 hours).

    Example::

        with w.lifecycle() as on:
            on.condition("flapping", to_state=["start", "restart"], times=5,
                         within="5min", transition="unmonitored", retry_in="10min")
    """

    times = 5
    within = None
    from_state = None
    to_state = None
    retry_in = None
    retry_times = 5
    retry_within = 7200.0
    required = ("within",)
    units = {"within": "seconds", "retry_in": "seconds", "retry_within": "seconds"}

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._changes = Timeline(5)
        self._flaps = Timeline(5)
        self._timer = None

    def prepare(self) -> None:
        """Size the timelines of state changes and of flaps."""
        super().prepare()
        self._changes = Timeline(self.times if _count(self.times) else 1)
        self._flaps = Timeline(self.retry_times if _count(self.retry_times) else 1)

    def valid(self) -> list[str]:
        """Counts, a state filter naming known states, and a retry that can happen."""
        where = self.describe()
        problems = super().valid()
        for name in ("times", "retry_times"):
            if not _count(getattr(self, name)):
                problems.append(f"{where}: {name} must be a whole number >= 1")
        if self.from_state is None and self.to_state is None:
            problems.append(f"{where}: set 'to_state', 'from_state' or both")
        known = self.task.all_states() if self.task is not None else None
        for name in ("from_state", "to_state"):
            for state in _states(getattr(self, name)):
                if known and state not in known:
                    problems.append(f"{where}: {name}: unknown state {state!r}")
        if self.retry_in is not None and self.transition != "unmonitored":
            problems.append(f"{where}: retry_in needs transition='unmonitored'")
        return problems

    def process(self, event: str, payload) -> None:
        """Count matching state changes; trigger when ``times`` fit in ``within``."""
        if event != "state_change":
            return
        if self._timer is not None:  # monitored again by someone else: no retry needed
            self._timer.cancel()
            self._timer = None
        from_state, to_state = payload
        if not (_match(self.from_state, from_state) and _match(self.to_state, to_state)):
            return
        now = self._now()
        self._changes.push(now)
        if self._changes.full and now - next(iter(self._changes)) < self.within:
            self._changes.clear()
            self.trigger()

    def accept(self, payload) -> bool:
        """On the driver, just before the move: decide between a retry and giving up."""
        self.info = f"process is flapping ({self.times} changes within {self.within:g}s)"
        if self.retry_in is None:
            return True
        now = self._now()
        self._flaps.push(now)
        if self._flaps.full and now - next(iter(self._flaps)) < self.retry_within:
            self._flaps.clear()
            self.info += f"; giving up after {self.retry_times} flaps"
        else:
            self.info += f"; auto-reenable monitoring in {self.retry_in:g} seconds"
            self._timer = self.after(self.retry_in, self._retry)
        return True

    def _retry(self) -> None:
        self._timer = None
        if self.task.state == "unmonitored":
            self.task.applog(logging.INFO, "auto-reenabling monitoring")
            self.task.monitor()

    def _now(self) -> float:
        return self.now()


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _states(value) -> list:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _match(wanted, state) -> bool:
    return wanted is None or state in _states(wanted)
