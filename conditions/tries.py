"""tries: a failsafe that counts checks spent in a state (God's ``tries``)."""

import time

from godpy.condition import PollCondition, Timeline


class Tries(PollCondition):
    """True on the ``times``-th check since the state was entered (within ``within``).

    Used with ``transition`` to leave a state that takes too long, typically to start
    again when a start does not come up::

        with w.transition(["start", "restart"], "up") as on:
            on.condition("process_running", running=True)
            on.condition("tries", times=5, transition="start")

    ``times`` here is a plain count of checks, not the ``(x, y)`` of other conditions.

    Attributes:
        times: the number of checks that triggers (required).
        within: only trigger when those checks happened within this many seconds
            (default: no limit).
        transition: where to go when it triggers (usually the state being retried).

    Example:
        ``on.condition("tries", times=5, within="1min", transition="start")``
    """

    windowed = False  # its ``times`` counts checks, it is no (x, y) window
    times = None
    within = None
    required = ("times",)
    units = {**PollCondition.units, "within": "seconds"}

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._stamps = Timeline(1)

    def prepare(self) -> None:
        """Keep ``times`` timestamps; each check counts once (no (x, y) window)."""
        super().prepare()
        if isinstance(self.times, int) and self.times > 0:
            self._stamps = Timeline(self.times)

    def valid(self) -> list[str]:
        """``times`` is a positive whole number; ``within`` and ``interval`` positive."""
        problems = super().valid()
        if self.times is not None and (
            not isinstance(self.times, int) or isinstance(self.times, bool) or self.times < 1
        ):
            problems.append(f"{self.describe()}: times must be a whole number >= 1")
        if self.within is not None and self.within <= 0:
            problems.append(f"{self.describe()}: within must be positive")
        return problems

    def test(self) -> bool:
        """Record this check; true when ``times`` checks fit in ``within``."""
        self._stamps.push(time.monotonic())
        stamps = list(self._stamps)
        span = stamps[-1] - stamps[0]
        history = f"[{len(stamps)}/{self.times}" + (f" within {span:.0f}s]" if self.within else "]")
        if self._stamps.full and (self.within is None or span < self.within):
            self.info = f"tries exceeded {history}"
            return True
        self.info = f"tries within bounds {history}"
        return False

    def reset(self) -> None:
        """Entering the state again starts counting from zero."""
        super().reset()
        self._stamps.clear()
