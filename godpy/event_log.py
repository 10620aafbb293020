"""EventLog: the daemon's recent events (exits, starts, moves ...), for ``godpy events``.

Drivers publish, on their own thread: a small dict appended to a bounded ring under one
lock, with a sequence number; nothing is formatted or written (it is on the restart
path). Control threads read what came after a sequence number, waiting on the ring's
condition for the next event when there is none yet (a long poll). A reader that falls
more than the ring's size behind is told how many events it lost.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

#: Events kept (about 3 MB of small dicts when full).
SIZE = 10_000
#: Seconds a woken reader waits for the rest of a burst (see ``EventLog.wait``).
LINGER = 0.02


class EventLog:
    """A bounded ring of events, each ``{"time", "seq", "watch", "group", "kind", ...}``.

    Args:
        size: how many events are kept.
        condition: the lock and condition readers wait on (tests pass one that never sleeps).
        clock: a monotonic clock for the readers' waits.
        wall: the wall clock stamped on each event (seconds since the epoch).
    """

    def __init__(
        self,
        size: int = SIZE,
        condition: threading.Condition | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self._ring: deque[dict] = deque(maxlen=size)
        self._seq = 0
        self._cond = condition or threading.Condition(threading.Lock())
        self._clock, self._wall = clock, wall
        self._closed = False
        self._waiting = 0  # readers waiting on the condition (none: no notify to pay for)

    @property
    def seq(self) -> int:
        """The sequence number of the newest event (0 before the first)."""
        return self._seq

    @property
    def closed(self) -> bool:
        """True once the daemon is ending (no more events will come)."""
        return self._closed

    def publish(self, watch: str, group: str | None, kind: str, fields: dict) -> None:
        """Append one event (any thread; drivers call it): cheap, no I/O, no formatting."""
        event = {"time": self._wall(), "seq": 0, "watch": watch, "group": group, "kind": kind}
        event.update(fields)
        with self._cond:
            self._seq += 1
            event["seq"] = self._seq
            self._ring.append(event)
            if self._waiting:
                self._cond.notify_all()

    def close(self) -> None:
        """The daemon ends: wake every reader; from now on reads return at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def read(self, since: int, name: str | None = None) -> tuple[int, list[dict]]:
        """Events after sequence number ``since`` of watch or group ``name`` (all: None).

        Returns:
            ``(newest seq looked at, events)``; a reader more than the ring's size behind
            first gets ``{"kind": "lost", "count": N}``.
        """
        with self._cond:
            return self._read(since, name)

    def last(self, count: int, name: str | None = None) -> tuple[int, list[dict]]:
        """The newest seq, and the last ``count`` kept events of ``name`` (all: None)."""
        with self._cond:  # a copy under the lock; the search outside it
            seq, kept = self._seq, list(self._ring) if count else []
        found = []
        for event in reversed(kept):
            if len(found) >= count:
                break
            if name is None or event["watch"] == name or event["group"] == name:
                found.append(event)
        return seq, found[::-1]

    def wait(
        self, since: int, name: str | None = None, timeout: float = 1.0, linger: float = LINGER
    ) -> tuple[int, list[dict]]:
        """``read``, but when nothing matches wait up to ``timeout`` seconds for an event.

        Woken by one, it lingers ``linger`` seconds more before it reads: the driver that
        published it is usually in the middle of a restart, which should not share the
        interpreter with a reply being encoded and sent; and the events that follow (the
        start, the move to up) come in the same reply. Returns at once once the log is
        closed; ``(seq, [])`` when the time ran out.
        """
        deadline = self._clock() + timeout
        with self._cond:
            seq, events = self._read(since, name)
            while not (events or self._closed):
                left = deadline - self._clock()
                if left <= 0:
                    return seq, events
                self._waiting += 1
                try:
                    self._cond.wait(left)
                finally:
                    self._waiting -= 1
                seq, events = self._read(seq, name)
                if events and linger > 0 and not self._closed:
                    self._cond.wait(linger)  # not counted as waiting: no publisher wakes it
                    seq, events = self._read(since, name)
            return seq, events

    def _read(self, since: int, name: str | None) -> tuple[int, list[dict]]:
        """(lock held) Newest first back to ``since``, then put in order."""
        found = []
        for event in reversed(self._ring):
            if event["seq"] <= since:
                break
            if name is None or event["watch"] == name or event["group"] == name:
                found.append(event)
        found.reverse()
        oldest = self._ring[0]["seq"] if self._ring else self._seq + 1
        lost = oldest - 1 - since
        if lost > 0:
            marker = {"time": self._wall(), "seq": oldest - 1, "kind": "lost", "count": lost}
            found.insert(0, marker)
        return self._seq, found
