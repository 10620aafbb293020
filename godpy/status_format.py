"""Formatting ``godpy status`` output: God's layout with columns, or JSON.

Kept free of heavy imports: it runs in the CLI client.
"""

from __future__ import annotations

import json

FIELDS = (
    "name",
    "group",
    "kind",
    "state",
    "action",
    "pid",
    "uptime",
    "restarts",
    "memory",
    "cpu",
    "reason",
    "next_start_in",
    "depends_on",
    "ready",
    "not_ready",
    "notify_status",
)
#: ANSI colors of the state column (click, which the CLI uses, passes them through)
_COLORS = {"up": "\x1b[32m", "unmonitored": "\x1b[33m"}
_RED, _RESET = "\x1b[31m", "\x1b[0m"


def duration(seconds: float | None) -> str:
    """``3d4h``, ``2h05m``, ``4m02s``, ``12s`` (largest two units)."""
    if seconds is None:
        return "-"
    s = int(seconds)
    for size, unit, small, sub in (
        (86400, "d", 3600, "h"),
        (3600, "h", 60, "m"),
        (60, "m", 1, "s"),
    ):
        if s >= size:
            return f"{s // size}{unit}{(s % size) // small:02d}{sub}"
    return f"{s}s"


def healthy(row: dict) -> bool:
    """A watch is healthy when up with a live process; a task (no process) always is."""
    if row.get("kind", "watch") != "watch":
        return True
    return row["state"] == "up" and bool(row["pid"]) and not row.get("action")


def shown_state(row: dict) -> str:
    """The state column: the action in flight (``starting``), else the state."""
    return row.get("action") or row["state"]


def _details(row: dict) -> str:
    if row.get("kind", "watch") != "watch":
        return f"task{': ' + row['reason'] if row.get('reason') else ''}"
    if row["pid"]:
        parts = [f"pid {row['pid']}", f"up {duration(row['uptime'])}"]
        waiting = row.get("not_ready")
        if waiting:  # "waiting for READY=1", or "not ready after 30s: waiting for ..."
            parts.append(waiting if waiting.startswith("not ready") else f"not ready: {waiting}")
        if row.get("notify_status"):
            parts.append(f'"{row["notify_status"]}"')
    else:
        parts = [row["reason"] or "not running"]
        if row.get("next_start_in") is not None and row["state"] != "unmonitored":
            parts.append(f"next start in {row['next_start_in']:.1f}s")
    parts.append(f"restarts {row['restarts']}")
    return "  ".join(parts)


def render_table(rows: list[dict], color: bool = False) -> str:
    """Ungrouped watches first, then each group with its members indented below it."""
    width = max((len(r["name"]) + (2 if r["group"] else 0) for r in rows), default=0) + 1
    states = max((len(shown_state(r)) for r in rows), default=0)
    lines, group = [], None
    for row in sorted(rows, key=lambda r: (r["group"] is not None, r["group"] or "", r["name"])):
        if row["group"] != group and row["group"] is not None:
            lines.append(f"{row['group']}:")
        group = row["group"]
        indent = "  " if row["group"] else ""
        label = f"{indent}{row['name']}:".ljust(width + 1)
        state = shown_state(row).ljust(states)
        if color:
            state = f"{_COLORS.get(shown_state(row), _RED)}{state}{_RESET}"
        lines.append(f"{label} {state}  {_details(row)}")
    return "\n".join(lines)


def render_json(rows: list[dict]) -> str:
    """A stable list of objects with exactly the FIELDS keys."""
    return json.dumps([{k: row.get(k) for k in FIELDS} for row in rows], indent=2)
