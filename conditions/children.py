"""children: the watched process has too many, or too few, child processes."""

from godpy.condition import PollCondition, live_children


class Children(PollCondition):
    """True when the number of child processes is above ``above`` or below ``below``.

    For a pre-forking server: ``below`` catches a master whose workers died and were not
    replaced, ``above`` one that forks without bound. Zombies are not counted.

    Attributes:
        above: trigger when there are more children than this.
        below: trigger when there are fewer children than this (at least one of the two
            is required).
        recursive: count grandchildren and deeper too (default False: direct children).
        times: true ``x`` times in the last ``y`` checks (default 1).
        pid_file: read the pid from this file instead of the watch's.

    Example:
        ``on.condition("children", below=4, times=(3, 5))`` in ``restart_if``
    """

    above = None
    below = None
    recursive = False
    pid_file = None

    def valid(self) -> list[str]:
        """At least one bound, each a whole number."""
        problems = super().valid()
        if self.above is None and self.below is None:
            problems.append(f"{self.describe()}: set 'above', 'below' or both")
        for name in ("above", "below"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                problems.append(f"{self.describe()}: {name} must be a number of processes")
        return problems

    def test(self) -> bool:
        """Count the live children."""
        pid = self.watched_pid()
        if pid is None:
            self.info = "process is not running"
            return False
        count = live_children(pid, bool(self.recursive))
        too_many = self.above is not None and count > self.above
        too_few = self.below is not None and count < self.below
        bounds = "out of bounds" if too_many or too_few else "within bounds"
        self.info = f"children {bounds} [{count}]"
        return too_many or too_few
