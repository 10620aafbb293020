"""clean_pid_file: delete a stale pid file before the process starts."""

from godpy.behavior import Behavior


class CleanPidFile(Behavior):
    """Before ``start``, delete the watch's pid file (a stale one left by a crash).

    A daemon that refuses to start while its old pid file exists needs it. The file is the
    watch's ``pid_file``, or the one godpy writes for its own children. It is deleted with
    the rights of the watch's user (``uid``), never godpy's.

    Attributes:
        none; it needs a watch (a process), not a generic task.

    Example:
        ``w.behavior("clean_pid_file")``
    """

    def valid(self) -> list[str]:
        """Only a watch has a pid file."""
        problems = super().valid()
        if not hasattr(self.task, "pid_file"):
            problems.append(
                f"{self.describe()}: needs a watch; {self.task.describe()} has no process"
            )
        return problems

    def before_start(self) -> str:
        """Delete the pid file; say whether there was one."""
        path = self.task.pid_file or self.task.process.pid_file
        if not self.task.remove_file(path):
            return f"no pid file to delete ({path})"
        return f"deleted pid file {path}"
