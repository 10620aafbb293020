"""The contract a plugin class must meet, checked when it is registered.

Each check returns ``"expected ...; found ..."`` fragments; the registry prefixes them with
the plugin's name and provider.
"""

from __future__ import annotations

import importlib


def _bases() -> dict[str, type]:
    from godpy.behavior import Behavior
    from godpy.condition import Condition

    bases = {"conditions": Condition, "behaviors": Behavior}
    try:
        bases["contacts"] = importlib.import_module("godpy.contact").Contact
    except (ImportError, AttributeError):  # pragma: no cover (contacts not built yet)
        pass
    return bases


def base_for(cls: type) -> str | None:
    """The plugin kind of ``cls`` by its base class (``"conditions"``, ...), or None."""
    for kind, base in _bases().items():
        if isinstance(cls, type) and issubclass(cls, base) and cls is not base:
            return kind
    return None


def _found(obj) -> str:
    if isinstance(obj, type):
        bases = ", ".join(b.__name__ for b in obj.__bases__)
        return f"class {obj.__name__}({bases})"
    return f"{type(obj).__name__} {getattr(obj, '__name__', repr(obj))}"


def _not_overridden(cls: type, base: type, methods: tuple[str, ...]) -> list[str]:
    return [m for m in methods if getattr(cls, m, None) is getattr(base, m, None)]


def _check_condition(cls: type) -> list[str]:
    from godpy.condition import EventCondition, PollCondition, TriggerCondition

    needs = {
        PollCondition: ("test",),
        EventCondition: ("register", "deregister"),
        TriggerCondition: ("process",),
    }
    for base, methods in needs.items():
        if issubclass(cls, base):
            missing = _not_overridden(cls, base, methods)
            if missing:
                wanted = " and ".join(f"{m}()" for m in missing)
                return [f"a {base.__name__} to define {wanted}; found none in {cls.__name__}"]
            return []
    return [
        "a subclass of PollCondition, EventCondition or TriggerCondition; "
        f"found {_found(cls)}, a bare Condition"
    ]


def _check_behavior(cls: type) -> list[str]:
    from godpy.behavior import Behavior

    hooks = [
        n for n in dir(cls) if n.startswith(("before_", "after_")) and callable(getattr(cls, n))
    ]
    if hooks or cls.hook is not Behavior.hook:
        return []
    return [f"a before_<action> or after_<action> method; found none in {cls.__name__}"]


def _check_contact(cls: type) -> list[str]:
    base = _bases()["contacts"]
    if _not_overridden(cls, base, ("notify",)):
        return [f"a Contact to define notify(message); found none in {cls.__name__}"]
    return []


def _check_declared(cls: type) -> list[str]:
    declared = cls._declared
    problems = []
    for what, names in (("required", cls.required), ("units", cls.units)):
        for name in names:
            if name not in declared:
                problems.append(
                    f"'{what}' to name declared attributes; found '{name}', which is not a "
                    f"class attribute with a default (declared: {', '.join(sorted(declared))})"
                )
    return problems


CHECKS = {
    "conditions": _check_condition,
    "behaviors": _check_behavior,
    "contacts": _check_contact,
}


def check_plugin(kind: str, cls) -> list[str]:
    """Return what is wrong with ``cls`` as a plugin of ``kind`` (empty when fine).

    Each item reads ``expected <what>; found <what>``.
    """
    if not isinstance(cls, type):
        return [f"expected a class; found {_found(cls)}"]
    base = _bases().get(kind)
    if base is None:
        return [f"expected a known plugin kind; found {kind!r}"]
    if not issubclass(cls, base) or cls is base:
        return [f"expected a subclass of {base.__module__}.{base.__name__}; found {_found(cls)}"]
    problems = [f"expected {p}" for p in CHECKS[kind](cls)]
    return problems + [f"expected {p}" for p in _check_declared(cls)]
