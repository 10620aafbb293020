"""disk_usage: a filesystem fuller than a limit."""

import math
import os

from godpy.condition import PollCondition


class DiskUsage(PollCondition):
    """True when the filesystem holding ``mount_point`` is more than ``above`` percent full.

    The percentage is df's "Use%": used blocks over the blocks available to ordinary
    users, rounded up (read with ``os.statvfs``, no ``df`` process).

    Attributes:
        mount_point: the mount point, or any path on the filesystem (required).
        above: limit in percent, a number or a string such as ``"90%"`` (required).
        times: true ``x`` times in the last ``y`` checks (default 1).

    Example:
        ``on.condition("disk_usage", mount_point="/var", above="90%")``
    """

    mount_point = None
    above = None
    required = ("mount_point", "above")
    units = {**PollCondition.units, "above": "percent"}

    def valid(self) -> list[str]:
        """The mount point must exist and the limit be at most 100%."""
        problems = super().valid()
        if self.mount_point is not None and not os.path.exists(self.mount_point):
            problems.append(f"{self.describe()}: mount_point {self.mount_point!r} does not exist")
        if self.above is not None and self.above > 100:
            problems.append(f"{self.describe()}: above must be at most 100%, got {self.above:g}")
        return problems

    def test(self) -> bool:
        """Read the filesystem's block counts."""
        percent = usage_percent(self.mount_point)
        full = percent > self.above
        bounds = "out of bounds" if full else "within bounds"
        self.info = f"disk space {bounds} [{percent}% used on {self.mount_point}]"
        return full


def usage_percent(path: str) -> int:
    """df's Use% for the filesystem holding ``path``."""
    st = os.statvfs(path)
    used = st.f_blocks - st.f_bfree
    total = used + st.f_bavail
    return math.ceil(100 * used / total) if total else 0
