"""Backoff: how long keepalive waits before starting a process that keeps dying.

Pure logic with no clock of its own: the watch tells it how long the last run lasted.
"""

from __future__ import annotations


class Backoff:
    """Counts consecutive quick deaths and turns them into a delay before the next start.

    A run that lasted at least ``stable_after`` seconds resets the count, so a crash after
    a good run is restarted at once. Each quick death doubles the delay, from
    ``restart_delay`` up to ``restart_delay_max``. With ``start_retries`` set, that many
    quick deaths in a row give up (``next_delay`` returns None).

    Args:
        restart_delay: seconds before the first restart after a quick death.
        restart_delay_max: the cap of the doubling delay.
        stable_after: seconds a run must last to count as good.
        start_retries: quick deaths in a row that give up (None: never give up).
    """

    def __init__(
        self,
        restart_delay: float = 0.1,
        restart_delay_max: float = 30.0,
        stable_after: float = 10.0,
        start_retries: int | None = None,
    ):
        self.restart_delay = restart_delay
        self.restart_delay_max = restart_delay_max
        self.stable_after = stable_after
        self.start_retries = start_retries
        self.quick_deaths = 0
        self._fresh = True

    def rearm(self) -> None:
        """The operator asked for a start: forget the deaths; the next start is at once."""
        self.quick_deaths = 0
        self._fresh = True

    def next_delay(self, lived: float | None) -> float | None:
        """Seconds to wait before the next start, or None to give up.

        Args:
            lived: how long the run that just ended lasted; None when unknown (a process
                adopted from an earlier godpy), which counts as a good run.
        """
        if self._fresh:
            self._fresh = False
            return 0.0
        if lived is None or lived >= self.stable_after:
            self.quick_deaths = 0
            return 0.0
        self.quick_deaths += 1
        if self.start_retries is not None and self.quick_deaths >= self.start_retries:
            return None
        return self.delay_for(self.quick_deaths)

    def delay_for(self, deaths: int) -> float:
        """The delay after ``deaths`` quick deaths in a row (0 for none)."""
        if deaths <= 0:
            return 0.0
        return min(self.restart_delay * 2 ** min(deaths - 1, 64), self.restart_delay_max)
