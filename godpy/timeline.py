"""Timeline: the last N readings of a condition, for ``times = (x, y)``."""

from __future__ import annotations

from collections import deque


class Timeline:
    """A bounded history of readings; the oldest falls off when full.

    Args:
        size: how many readings to keep (the ``y`` of ``times = (x, y)``).
    """

    def __init__(self, size: int):
        self._items: deque = deque(maxlen=size)

    def push(self, item) -> None:
        """Record a reading, dropping the oldest when the timeline is full."""
        self._items.append(item)

    def count(self, item=True) -> int:
        """Return how many readings equal ``item``."""
        return sum(1 for x in self._items if x == item)

    def clear(self) -> None:
        """Forget every reading (a state was left)."""
        self._items.clear()

    @property
    def full(self) -> bool:
        """True when the timeline holds its maximum number of readings."""
        return len(self._items) == self._items.maxlen

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)
