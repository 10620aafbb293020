"""clean_unix_socket: delete a stale Unix socket file before the process starts."""

import os
import stat

from godpy.behavior import Behavior, BehaviorError


class CleanUnixSocket(Behavior):
    """Before ``start``, delete the watch's ``unix_socket`` file left by a crash.

    A server that binds a Unix socket fails with "Address already in use" when the file
    of a crashed run is still there. Only a socket is deleted: a regular file or folder
    at that path is left alone and reported.

    Attributes:
        none; the watch's ``unix_socket`` names the file (required).

    Example:
        ``w.unix_socket = "/run/app/app.sock"``, then ``w.behavior("clean_unix_socket")``
    """

    def valid(self) -> list[str]:
        """The watch must name its socket."""
        problems = super().valid()
        if getattr(self.task, "unix_socket", None) is None:
            problems.append(
                f"{self.describe()}: {self.task.describe()} has no unix_socket; "
                "set w.unix_socket = '/path/to/app.sock'"
            )
        return problems

    def before_start(self) -> str:
        """Delete the socket file; say whether there was one."""
        path = self.task.unix_socket
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return f"no unix socket to delete ({path})"
        if not stat.S_ISSOCK(mode):
            raise BehaviorError(f"{path} is not a unix socket; left alone")
        self.task.remove_file(path)
        return f"deleted unix socket {path}"
