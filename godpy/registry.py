"""Plugin lookup: conditions, behaviors and contacts by the names configs use.

Every plugin, built-in or third-party, registers the same way: an entry point in the group
``godpy.conditions``, ``godpy.behaviors`` or ``godpy.contacts`` whose name is the config
name and whose value is ``module:Class``. A config may also load plugin files with
``God.load_plugins(dir)`` or hand over a class itself (``on.condition(MyCheck)``).

A class is checked when it is registered: the message names the plugin, what was expected
and what was found. Two providers claiming one name is an error naming both, unless both
give the very same class.
"""

from __future__ import annotations

import functools
import importlib.util
import keyword
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

from godpy.configurable import snake_case, suggest
from godpy.errors import PluginError
from godpy.plugin_check import base_for, check_plugin

KINDS = ("conditions", "behaviors", "contacts")
CONFIG_PROVIDER = "config file"


@dataclass
class Claim:
    """One provider's claim on a plugin name.

    Attributes:
        name: the name configs use.
        provider: who provides it: ``"godpy 0.1.0"``, a plugin file's path, ...
        target: ``module:Class`` or the file it comes from.
        load: returns the class (imports on first call).
    """

    name: str
    provider_: str | Callable[[], str]
    target: str
    load: Callable[[], object]

    @property
    def provider(self) -> str:
        """Who provides it; an entry point's distribution is only asked when needed
        (reading its name and version parses its metadata: 3 ms per distribution)."""
        if callable(self.provider_):
            self.provider_ = self.provider_()
        return self.provider_

    def origin(self) -> str:
        """``provider (target)``, or just the provider when they are the same."""
        return self.provider if self.provider == self.target else f"{self.provider} ({self.target})"


def _provider(ep) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"


def module_name(name: str) -> str:
    """The module holding plugin ``name``: ``lambda`` lives in ``lambda_.py``."""
    return f"{name}_" if keyword.iskeyword(name) else name


def config_name(module: str) -> str:
    """The name configs use for a plugin module: ``lambda_`` is ``lambda``."""
    stripped = module.removesuffix("_")
    return stripped if keyword.iskeyword(stripped) else module


class PluginFamily:
    """The plugins of one kind, imported lazily by name.

    Args:
        kind: ``"conditions"``, ``"behaviors"`` or ``"contacts"``.
        find: ``entry_points``-like callable taking ``group=`` (tests pass fakes).
    """

    def __init__(self, kind: str, find: Callable = entry_points):
        self.kind = kind
        self.singular = kind[:-1]
        self._find = find
        self._claims: dict[str, list[Claim]] | None = None
        self._classes: dict[str, type] = {}
        self._checked: set[type] = set()

    def _discover(self) -> dict[str, list[Claim]]:
        if self._claims is None:
            claims: dict[str, list[Claim]] = {}
            for ep in self._find(group=f"godpy.{self.kind}"):
                claim = Claim(ep.name, functools.partial(_provider, ep), ep.value, ep.load)
                same = claims.setdefault(ep.name, [])
                if not any(c.target == claim.target and c.provider == claim.provider for c in same):
                    same.append(claim)
            self._claims = claims
        return self._claims

    def names(self) -> list[str]:
        """Every known plugin name, sorted."""
        return sorted(self._discover())

    def claims(self, name: str) -> list[Claim]:
        """Every claim on ``name`` (more than one means a conflict or a duplicate)."""
        return list(self._discover().get(name, ()))

    def provider(self, name: str) -> str:
        """Who provides plugin ``name`` (every provider, when several claim it)."""
        return " and ".join(c.provider for c in self.claims(name))

    def get(self, name: str) -> type:
        """Return the class registered as ``name``, checked on first use.

        Raises:
            PluginError: no such plugin, it does not load or check, or two providers
                claim the name with different classes.
        """
        if name in self._classes:
            return self._classes[name]
        claims = self._discover().get(name)
        if not claims:
            raise PluginError(self._unknown(name))
        loaded = [(claim, self._load(claim)) for claim in claims]
        if len({id(cls) for _claim, cls in loaded}) > 1:
            raise PluginError(self._conflict(name, [claim for claim, _cls in loaded]))
        claim, cls = loaded[0]
        self.check(cls, name, claim.origin)
        self._name(cls, name)
        self._classes[name] = cls
        return cls

    def add(self, name: str, cls: type, provider: str, target: str | None = None) -> None:
        """Register ``cls`` as ``name`` (a plugin file, or a class handed over in a config).

        Raises:
            PluginError: the class does not check, or another provider claims ``name``.
        """
        claim = Claim(name, provider, target or provider, lambda: cls)
        self.check(cls, name, claim.origin)
        # The same file loaded again (a second load_plugins call) replaces itself.
        others = [c for c in self._discover().get(name, []) if c.provider != provider]
        for other in others:
            if self._load(other) is not cls:
                raise PluginError(self._conflict(name, [other, claim]))
        self._discover()[name] = [*others, claim]
        self._name(cls, name)
        self._classes[name] = cls

    def check(self, cls, name: str | None = None, origin: str | Callable = CONFIG_PROVIDER) -> type:
        """Check a class against this family's contract once; return it.

        ``origin``: who provides it, or a callable that says (asked only for a problem:
        an entry point's distribution is read from its metadata, some ms each).

        Raises:
            PluginError: ``{kind} '{name}' ({origin}): expected ...; found ...``.
        """
        if isinstance(cls, type) and cls in self._checked:
            return cls
        label = name or snake_case(getattr(cls, "__name__", str(cls)))
        problems = check_plugin(self.kind, cls)
        if problems:
            origin = origin() if callable(origin) else origin
            raise PluginError(
                "; ".join(f"{self.singular} '{label}' ({origin}): {p}" for p in problems)
            )
        self._checked.add(cls)
        return cls

    def adopt(self, cls) -> type:
        """Accept a class handed over by a config (``on.condition(MyCheck)``)."""
        self.check(cls)
        if "plugin_name" not in vars(cls):
            cls.plugin_name = snake_case(cls.__name__)
        return cls

    @staticmethod
    def _name(cls: type, name: str) -> None:
        if "plugin_name" not in vars(cls):
            cls.plugin_name = name

    def _load(self, claim: Claim) -> type:
        try:
            return claim.load()
        except Exception as exc:
            raise PluginError(
                f"{self.singular} '{claim.name}' ({claim.origin()}): expected an importable "
                f"class; found {type(exc).__name__}: {exc}"
            ) from exc

    def _conflict(self, name: str, claims: list[Claim]) -> str:
        who = " and ".join(c.origin() for c in claims)
        return (
            f"{self.singular} '{name}' is claimed by two providers: {who}; "
            "uninstall or rename one of them"
        )

    def _unknown(self, name: str) -> str:
        known = self.names()
        text = f"unknown {self.singular} '{name}'{suggest(name, known)} (known: {', '.join(known)})"
        module = f"godpy.{self.kind}.{module_name(name)}"
        try:
            orphan = importlib.util.find_spec(module) is not None
        except ImportError:
            orphan = False
        if orphan:
            text += (
                f"; {module} exists but has no entry point in group godpy.{self.kind}: "
                "add it to setup.cfg and run `pip install -e .`"
            )
        return text


class Plugins:
    """All plugin families; one instance per config load.

    Args:
        find: ``entry_points``-like callable (tests pass fakes).
    """

    def __init__(self, find: Callable = entry_points):
        self.families = {kind: PluginFamily(kind, find) for kind in KINDS}

    def condition(self, kind) -> type:
        """The condition class registered as ``kind``, or the class ``kind`` checked."""
        return self._get("conditions", kind)

    def behavior(self, kind) -> type:
        """The behavior class registered as ``kind``, or the class ``kind`` checked."""
        return self._get("behaviors", kind)

    def contact(self, kind) -> type:
        """The contact class registered as ``kind``, or the class ``kind`` checked."""
        return self._get("contacts", kind)

    def _get(self, family: str, kind) -> type:
        if isinstance(kind, str):
            return self.families[family].get(kind)
        return self.families[family].adopt(kind)

    def load_dir(self, path: str) -> list[tuple[str, str]]:
        """Load plugin files: every ``*.py`` in a folder (or one file), one class each.

        The name is the file's name (``load_average.py`` -> ``load_average``); the kind
        comes from the class's base (Condition, Behavior or Contact).

        Returns:
            (kind, name) of each plugin registered.

        Raises:
            PluginError: every problem found in the files, one per line.
        """
        if os.path.isdir(path):
            files = sorted(
                os.path.join(path, f)
                for f in os.listdir(path)
                if f.endswith(".py") and not f.startswith(("_", "."))
            )
        elif os.path.isfile(path):
            files = [path]
        else:
            raise PluginError(f"load_plugins: {path}: no such file or directory")
        loaded, problems = [], []
        for file in files:
            try:
                loaded.append(self.load_file(file))
            except PluginError as exc:
                problems.append(str(exc))
        if problems:
            raise PluginError("\n".join(problems))
        return loaded

    def load_file(self, path: str) -> tuple[str, str]:
        """Load one plugin file and register its class; return (kind, name)."""
        name = config_name(os.path.splitext(os.path.basename(path))[0])
        module = _import_file(path, name)
        classes = [
            v
            for v in vars(module).values()
            if isinstance(v, type) and v.__module__ == module.__name__ and base_for(v)
        ]
        if len(classes) != 1:
            found = ", ".join(c.__name__ for c in classes) or "none"
            raise PluginError(
                f"plugin '{name}' ({path}): expected one Condition, Behavior or Contact "
                f"class defined in the file; found {found}"
            )
        cls = classes[0]
        kind = base_for(cls)
        self.families[kind].add(name, cls, path)
        return kind, name


def _import_file(path: str, name: str):
    mod_name = f"godpy_plugin_file_{name}"
    try:
        spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(mod_name, None)
        raise PluginError(
            f"plugin '{name}' ({path}): expected an importable file; "
            f"found {type(exc).__name__}: {exc}"
        ) from exc
    return module
