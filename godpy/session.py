"""Session: what one config load collects (settings, tasks, problems)."""

from __future__ import annotations

import os
from typing import TypeVar

from godpy.condition import EventCondition
from godpy.errors import AttributeProblem
from godpy.process import Children
from godpy.registry import Plugins
from godpy.task import Task
from godpy.watch import Watch

T = TypeVar("T", bound=Task)

DEFAULT_SETTINGS = {
    "pid_file_directory": None,
    "use_events": True,
    "terminate_timeout": None,
    "log_buffer_size": 100,
}


def default_pid_directory() -> str:
    """``/var/run/godpy`` for root, ``~/.godpy/pids`` for anyone else."""
    if os.geteuid() == 0:
        return "/var/run/godpy"
    return os.path.expanduser("~/.godpy/pids")


class Session:
    """Everything one config file defines, checked block by block.

    Args:
        path: the config file.
        events: whether process-exit events work (decided before the file runs).
        children: the daemon's child tracker, handed to every watch's process.
    """

    def __init__(self, path: str, events: bool = False, children: Children | None = None):
        self.path = path
        self.events = events
        self.children = children or Children()
        self.settings = dict(DEFAULT_SETTINGS)
        self.plugins = Plugins()
        self.tasks: list[Task] = []
        self.problems: list[str] = []
        self._pid_dir: str | None = None

    def set_setting(self, name: str, value) -> None:
        """Set ``God.<name>``; only before the first watch or task."""
        from godpy.configurable import suggest

        if name not in self.settings:
            raise AttributeProblem(f"unknown setting God.{name}{suggest(name, self.settings)}")
        if self.tasks:
            raise AttributeProblem(f"God.{name} must be set before any watch or task is defined")
        self.settings[name] = value
        if name == "use_events" and not value:
            self.events = False

    def new_task(self, cls: type[T], attrs: dict) -> T:
        """Create a task or watch, registered now and checked when its block closes."""
        task = cls(plugins=self.plugins)
        task._events_enabled = self.events
        task._on_close = self.close
        self.tasks.append(task)
        task.configure(**attrs)
        return task

    def pid_directory(self) -> str:
        """The pid file directory, created on first use."""
        if self._pid_dir is None:
            path = self.settings["pid_file_directory"] or default_pid_directory()
            path = os.path.abspath(os.path.expanduser(str(path)))
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as exc:
                self.problems.append(f"{self.path}: pid_file_directory {path}: {exc.strerror}")
            else:
                if not os.access(path, os.W_OK):
                    self.problems.append(f"{self.path}: pid_file_directory {path} is not writable")
            self._pid_dir = path
        return self._pid_dir

    def close(self, task: Task) -> None:
        """Complete and check a task whose block has closed; record its problems."""
        if getattr(task, "_closed", False):
            return
        task._closed = True
        if isinstance(task, Watch):
            task.build(self.pid_directory(), self.children)
        task.prepare()
        problems = task.valid() + self._clashes(task) + self._event_problems(task)
        self.problems += [f"{task._where}: {p}" for p in problems]

    def close_all(self) -> None:
        """Check tasks that were never used as a ``with`` block."""
        for task in list(self.tasks):
            self.close(task)

    def _clashes(self, task: Task) -> list[str]:
        problems = []
        others = [t for t in self.tasks if t is not task and getattr(t, "_closed", False)]
        for other in others:
            if task.name is not None and other.name == task.name:
                problems.append(f"{task.describe()}: name already used at {other._where}")
            if task.name is not None and other.group == task.name:
                problems.append(f"{task.describe()}: name already used as a group name")
            if task.group is not None and other.name == task.group:
                problems.append(f"{task.describe()}: group '{task.group}' is a watch name")
        return problems

    def _event_problems(self, task: Task) -> list[str]:
        if self.events:
            return []
        return [
            f"{task.describe()}: {cond.describe()} needs process events (netlink), which are "
            "off here (not root, or use_events is False); use keepalive() or process_running"
            for _s, _m, cond in task.each_condition()
            if isinstance(cond, EventCondition)
        ]
