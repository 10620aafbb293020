"""Session: what one config load collects (settings, tasks, contacts, problems)."""

from __future__ import annotations

import os
import stat
from contextvars import ContextVar
from typing import TypeVar

from godpy.condition import EventCondition, normalize_notify
from godpy.configurable import config_location, problem, suggest
from godpy.contact import Contact
from godpy.dependencies import Graph
from godpy.errors import AttributeProblem
from godpy.process import Children
from godpy.readiness import READY_IF
from godpy.registry import Plugins
from godpy.task import Task
from godpy.trust import unsafe_folder
from godpy.watch import Watch

T = TypeVar("T", bound=Task)

#: The session of the config being loaded (set by ``config.load``, read by the DSL).
CURRENT: ContextVar[Session | None] = ContextVar("godpy_session", default=None)

DEFAULT_SETTINGS = {
    "pid_file_directory": None,
    "use_events": True,
    "terminate_timeout": None,
    "log_buffer_size": 100,
    "notify_interval": 60.0,
    "socket_group": None,
    "state_file": None,
    "metrics_address": None,
}


#: Settings a file loaded into a running daemon may change; the others stay the daemon's.
RELOADABLE = ("notify_interval", "log_buffer_size", "terminate_timeout")


def default_pid_directory() -> str:
    """``/var/run/godpy`` for root, ``~/.godpy/pids`` for anyone else."""
    if os.geteuid() == 0:
        return "/var/run/godpy"
    return os.path.expanduser("~/.godpy/pids")


class NameIndex:
    """The names and groups of the items (watches, or contacts) checked so far, so that
    each new one is checked in constant time (a list scan made 1,000 watches cost 0.4 s).

    Args:
        items: the items already there.
    """

    def __init__(self, items=()):
        self.names: dict[str, object] = {}
        self.groups: dict[str, object] = {}
        for item in items:
            self.add(item)

    def add(self, item) -> None:
        """Take ``item``'s name and group (the first item keeps a name)."""
        if item.name is not None:
            self.names.setdefault(item.name, item)
        if item.group is not None:
            self.groups.setdefault(item.group, item)

    def clashes(self, item, kind: str) -> list[str]:
        """Problems when ``item``'s name or group collides with a name or group here
        (watches and contacts alike: names are unique, and a group may not be named
        like one)."""
        problems = []
        name, group = item.line_of("name"), item.line_of("group")
        if item.name is not None and item.name in self.names:
            where = self.names[item.name].line_of("name")
            problems.append(problem(f"{item.describe()}: name already used at {where}", name))
        if item.name is not None and item.name in self.groups:
            problems.append(problem(f"{item.describe()}: name already used as a group name", name))
        if item.group is not None and item.group in self.names:
            text = f"{item.describe()}: group '{item.group}' is a {kind} name"
            problems.append(problem(text, group))
        return problems


def located(problems: list[str], where: str) -> list[str]:
    """``file:line: text`` for each problem: its own location, else ``where``."""
    return [f"{getattr(p, 'where', None) or where}: {p}" for p in problems]


class Session:
    """Everything one config file defines, checked block by block.

    Args:
        path: the config file.
        events: whether process-exit events work (decided before the file runs).
        children: the daemon's child tracker, handed to every watch's process.
        contacts: contacts the daemon already has (``godpy load``), which ``notify``
            may name too.
        insecure: run files others could have written, with a warning
            (``--insecure-config``).
        check_only: ``godpy check``: create nothing (the pid directory is only
            examined).
        running: tasks a running daemon keeps beside this file's (``godpy load``
            leaving them), which ``depends_on`` may name too.

    Attributes:
        warnings: what ``insecure`` let through, one line each.
        included: the files run by ``God.load``, by absolute path, as modules.
    """

    def __init__(
        self,
        path: str,
        events: bool = False,
        children: Children | None = None,
        contacts: dict[str, Contact] | None = None,
        insecure: bool = False,
        check_only: bool = False,
        settings: dict | None = None,
        running: list[Task] | None = None,
    ):
        self.path = path
        self._running_tasks = list(running or ())
        self.insecure = insecure
        self.check_only = check_only
        self.warnings: list[str] = []
        self.included: dict = {}
        self.events = events
        self.children = children or Children()
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}  # a running daemon's
        self._running = settings is not None
        self.plugins = Plugins()
        self.tasks: list[Task] = []
        self._names = NameIndex()  # of the tasks closed so far
        self.problems: list[str] = []
        self.contacts: dict[str, Contact] = {}
        self._new_contacts: list[Contact] = []
        self._known_contacts = dict(contacts or {})
        self._pid_dir: str | None = None

    def set_setting(self, name: str, value) -> None:
        """Set ``God.<name>``; only before the first watch or task."""
        if name not in self.settings:
            raise AttributeProblem(f"unknown setting God.{name}{suggest(name, self.settings)}")
        if self.tasks:
            raise AttributeProblem(f"God.{name} must be set before any watch or task is defined")
        if name == "notify_interval":
            value = _seconds_setting(name, value)
        if name == "metrics_address" and value is not None:
            value = _address_setting(value)
        if self._running and name not in RELOADABLE and value != self.settings[name]:
            self.warnings.append(
                f"God.{name} = {value!r} ignored: the running daemon keeps "
                f"{self.settings[name]!r} (restart godpy to change it)"
            )
            return
        if name == "socket_group" and value is not None:
            from godpy.socket_file import group_id

            try:
                group_id(value)
            except (KeyError, ValueError):
                raise AttributeProblem(f"God.socket_group: no such group {value!r}") from None
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
            above = _unsafe_to_create(path)
            try:
                if above is not None:  # create nothing in a folder another user controls
                    raise PermissionError(0, f"not safe: {above}")
                if not self.check_only:
                    os.makedirs(path, exist_ok=True)
            except OSError as exc:
                self.problems.append(f"{self.path}: pid_file_directory {path}: {exc.strerror}")
            else:
                if not os.access(_existing(path), os.W_OK):
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
        problems = task.valid() + self._names.clashes(task, "watch") + self._event_problems(task)
        self._names.add(task)
        self.problems += located(problems + _no_conditions(task), task._where)

    def close_all(self) -> None:
        """Check what was never used as a ``with`` block, then every ``notify`` name."""
        for task in list(self.tasks):
            self.close(task)
        for contact in list(self._new_contacts):
            self.close_contact(contact)
        self.problems += self._notify_problems() + self._dependency_problems()

    def _dependency_problems(self) -> list[str]:
        """Unknown names, self-dependencies and cycles in ``depends_on``, over this file's
        tasks and the running ones it leaves in place; blamed on this file's lines."""
        mine = {t.name for t in self.tasks}
        kept = [t for t in self._running_tasks if t.name not in mine]
        return Graph(self.tasks + kept).problems(checked=mine)

    # -- contacts ------------------------------------------------------------------------
    def new_contact(self, kind, attrs: dict) -> Contact:
        """Create a contact of plugin ``kind``, checked when its block closes."""
        contact = self.plugins.contact(kind)()
        contact._on_close = self.close_contact
        self._new_contacts.append(contact)
        contact.configure(**attrs)
        return contact

    def close_contact(self, contact: Contact) -> None:
        """Check a contact whose block has closed; keep it when its name is free."""
        if contact._closed:
            return
        contact._closed = True
        contact.prepare()
        clashes = NameIndex(self.contacts.values()).clashes(contact, "contact")
        problems = contact.valid() + clashes
        self.problems += located(problems, contact._where)
        if contact.name is not None and contact.name not in self.contacts:
            self.contacts[contact.name] = contact

    def _notify_problems(self) -> list[str]:
        """``notify`` names that are neither a contact nor a group (checked at the end,
        since contacts may be defined after the watches that name them)."""
        contacts = {**self._known_contacts, **self.contacts}
        groups = {c.group for c in contacts.values() if c.group}
        problems = []
        for task in self.tasks:
            for _s, _m, cond in task.each_condition():
                problems += self._unknown_names(task, cond, contacts, groups)
            for beh in task.behaviors:
                problems += self._unknown_names(task, beh, contacts, groups)
        return problems

    @staticmethod
    def _unknown_names(task: Task, plugin, contacts: dict, groups: set) -> list[str]:
        spec = getattr(plugin, "notify", None)
        if not spec:
            return []
        try:
            names, _priority, _category = normalize_notify(spec)
        except ValueError:
            return []  # reported by the plugin's valid()
        known = f"contacts: {', '.join(sorted(contacts)) or 'none'}"
        if groups:
            known += f"; groups: {', '.join(sorted(groups))}"
        return [
            f"{plugin.line_of('notify')}: {task.describe()}: {plugin.describe()}: notify "
            f"names unknown contact or group '{name}'{suggest(name, set(contacts) | groups)} "
            f"({known})"
            for name in names
            if name not in contacts and name not in groups
        ]

    def _event_problems(self, task: Task) -> list[str]:
        if self.events:
            return []
        return [
            problem(
                f"{task.describe()}: {cond.describe()} needs process events (netlink), which "
                "are off here (not root, or use_events is False); use keepalive() or "
                "process_running",
                cond._where,
            )
            for _s, _m, cond in task.each_condition()
            if isinstance(cond, EventCondition)
        ]


def _no_conditions(task: Task) -> list[str]:
    """A watch without a single condition is never started: usually ``w.keepalive``
    written without its parentheses (Ruby's habit), which does nothing in Python."""
    if not isinstance(task, Watch) or any(k != READY_IF for k in task.metrics):
        return []
    return [
        f"{task.describe()}: has no conditions, so its process would never be started or "
        "checked; did you mean w.keepalive()? (without the parentheses it does nothing)"
    ]


def _unsafe_to_create(path: str) -> str | None:
    """Why godpy must not create (or use) ``path`` for its pid files, or None.

    The folder it would create it in must be one only root and godpy's user can write,
    or a sticky one of root's such as ``/tmp`` (another user cannot replace what godpy
    creates there).
    """
    where = _existing(path)
    info = os.stat(where)
    if where != path and info.st_mode & stat.S_ISVTX and info.st_uid == 0:
        return None
    return unsafe_folder(where, os.geteuid())


def _existing(path: str) -> str:
    """``path``, or its nearest folder that exists (where ``makedirs`` would start)."""
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def _seconds_setting(name: str, value) -> float:
    from godpy.units import to_seconds

    try:
        return to_seconds(value)
    except ValueError as exc:
        raise AttributeProblem(f"God.{name}: {exc}") from None


def _address_setting(value):
    from godpy.metrics import parse_address

    try:
        return parse_address(value, where=config_location())
    except ValueError as exc:
        raise AttributeProblem(f"God.metrics_address: {exc}") from None
