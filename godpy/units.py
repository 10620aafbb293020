"""Units used in configs: seconds, kilobytes and percent.

Numbers are seconds, kilobytes and percent as in God; strings such as ``"30s"``,
``"5min"``, ``"150MB"`` and ``"50%"`` are accepted too.
"""

from __future__ import annotations

import re

_NUMBER = r"\s*(\d+(?:\.\d+)?)\s*"

_TIME = {
    "": 1,
    "ms": 0.001,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_SIZE = {
    "": 1,
    "k": 1,
    "kb": 1,
    "kib": 1,
    "m": 1024,
    "mb": 1024,
    "mib": 1024,
    "g": 1024**2,
    "gb": 1024**2,
    "gib": 1024**2,
    "b": 1 / 1024,
}


def _parse(value, table: dict, what: str, example: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected {what} such as {example}, got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{what} must not be negative, got {value!r}")
        return value
    if isinstance(value, str):
        match = re.fullmatch(_NUMBER + r"([A-Za-z]*)\s*", value)
        if match and match.group(2).lower() in table:
            return float(match.group(1)) * table[match.group(2).lower()]
    raise ValueError(f"bad {what} {value!r}; write e.g. {example}")


def to_seconds(value) -> float:
    """Convert a number of seconds or a string like ``"30s"``/``"5min"`` to seconds."""
    return _parse(value, _TIME, "duration", "30, '30s', '5min' or '2h'")


def to_kilobytes(value) -> float:
    """Convert a number of kilobytes or a string like ``"150MB"`` to kilobytes."""
    return _parse(value, _SIZE, "memory size", "150000 (kilobytes), '150MB' or '1.5GB'")


def to_percent(value) -> float:
    """Convert a number or a string like ``"50%"`` to a percentage."""
    number = value
    if isinstance(value, str) and value.strip().endswith("%"):
        number = value.strip()[:-1]
    try:
        return _parse(number, {"": 1}, "percentage", "50 or '50%'")
    except ValueError as exc:
        if "negative" in str(exc):
            raise
        raise ValueError(f"bad percentage {value!r}; write e.g. 50 or '50%'") from None


CONVERTERS = {"seconds": to_seconds, "kilobytes": to_kilobytes, "percent": to_percent}


def seconds(n: float) -> float:
    """Return ``n`` seconds."""
    return float(n)


def minutes(n: float) -> float:
    """Return ``n`` minutes in seconds."""
    return n * 60.0


def hours(n: float) -> float:
    """Return ``n`` hours in seconds."""
    return n * 3600.0


def days(n: float) -> float:
    """Return ``n`` days in seconds."""
    return n * 86400.0


def kilobytes(n: float) -> float:
    """Return ``n`` kilobytes (the unit of memory limits)."""
    return float(n)


def megabytes(n: float) -> float:
    """Return ``n`` megabytes in kilobytes."""
    return n * 1024.0


def gigabytes(n: float) -> float:
    """Return ``n`` gigabytes in kilobytes."""
    return n * 1024.0**2


def percent(n: float) -> float:
    """Return ``n`` percent."""
    return float(n)
