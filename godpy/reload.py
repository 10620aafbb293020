"""Reload: what ``godpy load`` does to each task, from comparing declared configs.

- the same declaration: ``unchanged`` (the running task is kept: no transition, same
  process, its timers go on);
- only conditions, behaviors, notifications or other non-process settings differ:
  ``updated`` (the new task takes over the process and its history, no restart);
- the process's own settings differ (``start``, ``env``, ``uid``, ``dir``, ...):
  ``restarted`` once with the new settings (when it was monitored);
- a new name: ``added``; a name the file no longer has: ``stopped``, ``removed`` or
  ``left``, as the load's action says.
"""

from __future__ import annotations

from godpy.task import Task


def plan(old: Task | None, new: Task) -> str:
    """``added``, ``unchanged``, ``updated`` or ``restarted`` for ``new`` replacing ``old``."""
    if old is None:
        return "added"
    if type(old) is not type(new):
        return "restarted"
    old_process, new_process = getattr(old, "process", None), getattr(new, "process", None)
    if old_process is not None and old_process.spec != new_process.spec:
        return "restarted"
    if _notify_env(old) != _notify_env(new):  # the running program has the old variables
        return "restarted"
    return "unchanged" if declaration(old) == declaration(new) else "updated"


def declaration(task: Task) -> str:
    """A canonical text of everything ``task``'s config declared (for comparison)."""
    parts = [_attrs(task), repr(sorted(task._commands.items()))]
    parts.append(repr(getattr(task, "_keepalive", None)))
    backoff = getattr(task, "_backoff", None)
    if backoff is not None:
        parts.append(repr(vars(backoff) | {"quick_deaths": 0, "_fresh": True}))
    parts.append(repr(getattr(task, "_notify_failed", None)))
    for state, metrics in sorted(task.metrics.items(), key=lambda kv: str(kv[0])):
        for metric in metrics:
            conditions = [(c.describe(), _attrs(c)) for c in metric.conditions]
            parts.append(repr((state, metric.destination, conditions)))
    parts += [repr((b.describe(), _attrs(b))) for b in task.behaviors]
    return "\n".join(parts)


def _notify_env(task: Task) -> tuple:
    """What an sd_notify watch's program finds in its environment (NOTIFY_SOCKET and
    WATCHDOG_USEC): a change needs a new process."""
    return (getattr(task, "sd_notify", False) is True, getattr(task, "watchdog", None))


def _attrs(obj) -> str:
    return repr([(name, getattr(obj, name, None)) for name in sorted(type(obj)._declared)])
