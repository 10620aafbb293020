"""file_size: a file's size above (and optionally below) a limit."""

import os

from godpy.condition import PollCondition


class FileSize(PollCondition):
    """True when the file at ``path`` is larger than ``above`` bytes (and, if ``below``
    is set, smaller than ``below`` bytes). A missing file is never true.

    Attributes:
        path: the file to check (required).
        above: size in bytes that must be exceeded (required).
        below: optional upper bound in bytes, for a size band.

    Example:
        ``on.condition("file_size", path="/var/log/app.log", above=10_000_000)``
    """

    path = None
    above = None
    below = None
    required = ("path", "above")

    def valid(self) -> list[str]:
        """Sizes must be whole numbers of bytes."""
        problems = super().valid()
        for name in ("above", "below"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                problems.append(f"{self.describe()}: {name} must be a number of bytes")
        return problems

    def test(self) -> bool:
        """Stat the file and compare its size."""
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            self.info = f"{self.path} does not exist"
            return False
        hit = size > self.above and (self.below is None or size < self.below)
        self.info = f"{self.path} is {size} bytes"
        return hit
