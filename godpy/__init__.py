"""godpy: a process monitor in the style of God.

Config files use ``from godpy import God``. Plugin authors use ``PollCondition``,
``EventCondition``, ``TriggerCondition``, ``Behavior`` and ``Contact``. Names are imported
lazily so the CLI client stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from godpy.version import __version__

_LAZY = {
    "God": "godpy.dsl",
    "env": "godpy.dsl",
    "PollCondition": "godpy.condition",
    "EventCondition": "godpy.condition",
    "TriggerCondition": "godpy.condition",
    "Behavior": "godpy.behavior",
    "Contact": "godpy.contact",
    "ConfigError": "godpy.errors",
    "seconds": "godpy.units",
    "minutes": "godpy.units",
    "hours": "godpy.units",
    "days": "godpy.units",
    "kilobytes": "godpy.units",
    "megabytes": "godpy.units",
    "gigabytes": "godpy.units",
    "percent": "godpy.units",
}

__all__ = [
    "__version__",
    "God",
    "env",
    "PollCondition",
    "EventCondition",
    "TriggerCondition",
    "Behavior",
    "Contact",
    "ConfigError",
    "seconds",
    "minutes",
    "hours",
    "days",
    "kilobytes",
    "megabytes",
    "gigabytes",
    "percent",
]

if TYPE_CHECKING:
    from godpy.behavior import Behavior
    from godpy.condition import EventCondition, PollCondition, TriggerCondition
    from godpy.contact import Contact
    from godpy.dsl import God, env
    from godpy.errors import ConfigError
    from godpy.units import days, gigabytes, hours, kilobytes, megabytes, minutes, percent, seconds


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'godpy' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
