"""Plugin lookup: conditions, behaviors and contacts by their snake_case names.

Built-ins and third-party plugins register the same way, through the entry-point groups
``godpy.conditions``, ``godpy.behaviors`` and ``godpy.contacts``. Modules found in the
built-in plugin packages are also picked up, so a source checkout works before install.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

from godpy.configurable import suggest
from godpy.errors import AttributeProblem

KINDS = ("conditions", "behaviors", "contacts")


class PluginFamily:
    """The plugins of one kind, loaded lazily by name.

    Args:
        kind: ``"conditions"``, ``"behaviors"`` or ``"contacts"``.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._sources: dict[str, tuple[str, object]] | None = None
        self._classes: dict[str, type] = {}

    def _discover(self) -> dict[str, tuple[str, object]]:
        if self._sources is None:
            found: dict[str, tuple[str, object]] = {}
            package = importlib.import_module(f"godpy.{self.kind}")
            for mod in pkgutil.iter_modules(package.__path__):
                name = mod.name.rstrip("_")
                found[name] = ("godpy (built-in)", f"godpy.{self.kind}.{mod.name}")
            for ep in entry_points(group=f"godpy.{self.kind}"):
                if ep.value.split(":")[0] == found.get(ep.name, ("", ""))[1]:
                    continue
                dist = ep.dist.name if ep.dist else "unknown"
                found[ep.name] = (dist, ep)
            self._sources = found
        return self._sources

    def names(self) -> list[str]:
        """Every known plugin name, sorted."""
        return sorted(self._discover())

    def provider(self, name: str) -> str:
        """The distribution that provides plugin ``name``."""
        return self._discover()[name][0]

    def get(self, name: str) -> type:
        """Return the class registered as ``name``.

        Raises:
            AttributeProblem: no such plugin; the message lists the known names.
        """
        if name in self._classes:
            return self._classes[name]
        sources = self._discover()
        if name not in sources:
            singular = self.kind[:-1]
            raise AttributeProblem(
                f"unknown {singular} '{name}'{suggest(name, sources)} "
                f"(known: {', '.join(sorted(sources))})"
            )
        target = sources[name][1]
        if isinstance(target, str):
            module = importlib.import_module(target)
            cls = next(
                v
                for v in vars(module).values()
                if isinstance(v, type)
                and v.__module__ == module.__name__
                and getattr(v, "kind", None) == self.kind[:-1]
            )
        else:
            cls = target.load()
        cls.plugin_name = name
        self._classes[name] = cls
        return cls


class Plugins:
    """All plugin families; one instance per config load."""

    def __init__(self):
        self.families = {kind: PluginFamily(kind) for kind in KINDS}

    def condition(self, name: str) -> type:
        """The condition class registered as ``name``."""
        return self.families["conditions"].get(name)

    def behavior(self, name: str) -> type:
        """The behavior class registered as ``name``."""
        return self.families["behaviors"].get(name)
