"""Backlog: the exits that still wait for their driver, across all watches.

When many programs die at once (200 killed together, a host's OOM sweep), what matters
first is that each is running again. A driver's restart has two halves: reaping and
starting the new process; then the bookkeeping (the move to ``up``, its log lines, the
state record). Under one GIL, 200 drivers interleave both halves, so the last program
starts only after almost all of the bookkeeping is done as well. A driver that has
started its program therefore waits, briefly, while other exits are still waiting for
their driver: every start comes first, the bookkeeping after.

Each exit event handed to a driver holds a Ticket until its driver has started the new
process (or decided not to). ``wait_clear`` waits until no ticket is left, at most
``WAIT``; a ticket older than ``STALE`` (its driver is busy with a long stop, or will
never serve it) no longer holds anyone up.
"""

from __future__ import annotations

import threading
import time

#: The longest a driver defers its bookkeeping to the starts of others.
WAIT = 1.0
#: A ticket this old holds nobody up any more.
STALE = 1.0


class Backlog:
    """The exit events that still wait for their driver to act on them."""

    def __init__(self, clock=time.monotonic):
        self._cv = threading.Condition(threading.Lock())
        self._open: dict[Ticket, float] = {}  # ticket -> when it was handed out
        self._clock = clock

    @property
    def pending(self) -> int:
        """Tickets not done yet (stale ones included)."""
        return len(self._open)

    def enter(self) -> Ticket:
        """One more exit waits for its driver."""
        ticket = Ticket(self)
        with self._cv:
            self._open[ticket] = self._clock()
        return ticket

    def _done(self, ticket: Ticket) -> None:
        with self._cv:
            self._open.pop(ticket, None)
            if not self._open:
                self._cv.notify_all()

    def wait_clear(self, timeout: float = WAIT) -> bool:
        """Wait until no live ticket is left (at most ``timeout``); True when none is."""
        deadline = self._clock() + timeout
        with self._cv:
            while True:
                now = self._clock()
                oldest = self._oldest_live(now)
                if oldest is None:
                    return True
                if now >= deadline:
                    return False
                self._cv.wait(min(deadline, oldest + STALE) - now)

    def _oldest_live(self, now: float) -> float | None:
        """When the oldest ticket younger than STALE was handed out; stale ones are
        dropped (lock held)."""
        for ticket, born in list(self._open.items()):
            if now - born < STALE:
                return born  # the dict keeps the order tickets were handed out in
            del self._open[ticket]
        return None


class Ticket:
    """One exit's place in the backlog; ``done()`` (any number of times) gives it up."""

    __slots__ = ("backlog",)

    def __init__(self, backlog: Backlog):
        self.backlog = backlog

    def done(self) -> None:
        """The driver has acted on the exit (started the new process, or will not)."""
        self.backlog._done(self)
