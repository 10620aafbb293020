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


class Readings:
    """The latest values of a threshold condition, newest first, rendered God's way.

    ``Readings(5, "kb")`` after 51200 and 2032 renders ``[*51200kb, 2032kb]`` when the
    limit is 50000: a star marks each reading over the limit.
    """

    def __init__(self, size: int, unit: str, digits: int = 0):
        self._values: deque = deque(maxlen=max(1, size))
        self._unit = unit
        self._digits = digits

    def push(self, value: float) -> None:
        """Record the newest reading."""
        self._values.appendleft(value)

    def clear(self) -> None:
        """Forget every reading."""
        self._values.clear()

    def render(self, limit: float) -> str:
        """``[*v1unit, v2unit, ...]`` with a star on readings above ``limit``."""
        marks = (
            f"{'*' if v > limit else ''}{v:.{self._digits}f}{self._unit}" for v in self._values
        )
        return f"[{', '.join(marks)}]"
