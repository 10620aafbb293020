"""Text for ``godpy conditions``: each plugin, its attributes and where it came from."""

from __future__ import annotations

import inspect

from godpy.errors import PluginError
from godpy.registry import PluginFamily


def attribute_rows(cls: type) -> list[tuple[str, str, str]]:
    """(name, default or "required", unit) for every declared attribute of ``cls``."""
    rows = []
    for name, default in cls.attributes().items():
        shown = "required" if name in cls.required and default is None else repr(default)
        rows.append((name, shown, cls.units.get(name, "")))
    return rows


def _block(name: str, cls: type, origin: str, full: bool) -> list[str]:
    doc = inspect.getdoc(cls) or ""
    lines = [f"{name}  [{origin}]"]
    text = doc if full else doc.split("\n\n")[0]
    lines += [f"    {line}".rstrip() for line in text.splitlines()]
    rows = attribute_rows(cls)
    if full and rows:
        lines += ["", "    Settable attributes (default, unit):"]
    width = max((len(r[0]) for r in rows), default=0)
    shown = max((len(r[1]) for r in rows), default=0)
    lines += [f"    {a:<{width}}  {d:<{shown}}  {u}".rstrip() for a, d, u in rows]
    return lines


def render(family: PluginFamily, name: str | None = None) -> tuple[str, list[str]]:
    """The listing of a family (or of one plugin with its whole docstring).

    Returns:
        (text, problems): the listing, and one line per plugin that failed to load.

    Raises:
        PluginError: ``name`` is not a known plugin.
    """
    names = [name] if name else family.names()
    blocks, problems = [], []
    for each in names:
        try:
            cls = family.get(each)
        except PluginError as exc:
            if name:
                raise
            problems.append(str(exc))
            continue
        origin = " and ".join(c.origin() for c in family.claims(each))
        blocks.append("\n".join(_block(each, cls, origin, full=bool(name))))
    return "\n\n".join(blocks), problems
