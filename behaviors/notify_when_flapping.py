"""notify_when_flapping: tell contacts when a watch starts too often."""

import time
from collections import deque

from godpy.behavior import Behavior
from godpy.condition import normalize_notify


class NotifyWhenFlapping(Behavior):
    """Notify when the watch has been started or restarted ``failures`` times in ``seconds``.

    Each start and restart is counted once (a restart that stops and starts is one). On
    reaching ``failures`` the contacts get "<watch> has called start/restart N times in S
    seconds" and the count starts again. It only tells; the ``flapping`` condition acts.

    Attributes:
        failures: starts within ``seconds`` that notify (required).
        seconds: the window, seconds or a string such as ``"5min"`` (required).
        notify: contact or group name(s), or ``{"contacts": [...], "priority": 1,
            "category": "x"}`` (required).

    Example:
        ``w.behavior("notify_when_flapping", failures=5, seconds="5min", notify="ops")``
    """

    failures = None
    seconds = None
    notify = None
    required = ("failures", "seconds", "notify")
    units = {"seconds": "seconds"}

    def __init__(self, **attrs):
        self._starts: deque[float] = deque()
        self._restarting = False
        self._clock = time.monotonic
        super().__init__(**attrs)

    def valid(self) -> list[str]:
        """``failures`` a positive integer, ``seconds`` positive, ``notify`` well formed."""
        problems = super().valid()
        if self.failures is not None and (
            not isinstance(self.failures, int)
            or isinstance(self.failures, bool)
            or self.failures < 1
        ):
            problems.append(f"{self.describe()}: failures must be a positive integer")
        if self.seconds is not None and self.seconds <= 0:
            problems.append(f"{self.describe()}: seconds must be positive")
        if self.notify is not None:
            try:
                normalize_notify(self.notify)
            except ValueError as exc:
                problems.append(f"{self.describe()}: {exc}")
        return problems

    def before_start(self) -> None:
        """Count a start, unless it is the second half of a restart."""
        if not self._restarting:
            self._count()

    def before_restart(self) -> None:
        """Count a restart (its inner stop and start are not counted again)."""
        self._restarting = True
        self._count()

    def after_restart(self) -> None:
        """The restart is over."""
        self._restarting = False

    def _count(self) -> None:
        now = self._clock()
        self._starts.append(now)
        while self._starts and self._starts[0] < now - self.seconds:
            self._starts.popleft()
        if len(self._starts) >= self.failures:
            message = (
                f"{self.task.name} has called start/restart {len(self._starts)} times "
                f"in {self.seconds:g} seconds"
            )
            self._starts.clear()
            names, priority, category = normalize_notify(self.notify)
            self.task.send_notification(names, message, priority, category, self)
