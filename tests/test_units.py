"""Units: seconds, kilobytes and percent from numbers and strings, and the helpers."""

import pytest

from godpy import units
from godpy.units import to_kilobytes, to_percent, to_seconds


@pytest.mark.parametrize(
    "value, expected",
    [
        (30, 30),
        (2.5, 2.5),
        (0, 0),
        ("30", 30.0),
        ("30s", 30.0),
        ("30 sec", 30.0),
        ("1.5 seconds", 1.5),
        ("250ms", 0.25),
        ("5min", 300.0),
        ("5m", 300.0),
        ("2 minutes", 120.0),
        ("2h", 7200.0),
        ("1 hour", 3600.0),
        ("1d", 86400.0),
        (" 3 DAYS ", 259200.0),
    ],
)
def test_to_seconds(value, expected):
    """Numbers are seconds; strings take s, ms, min, h, d and their long forms."""
    assert to_seconds(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    "value, expected",
    [
        (1024, 1024),
        ("150000", 150000.0),
        ("150kb", 150.0),
        ("150 KiB", 150.0),
        ("150MB", 153600.0),
        ("150m", 153600.0),
        ("1.5GB", 1572864.0),
        ("2g", 2097152.0),
        ("2048b", 2.0),
    ],
)
def test_to_kilobytes(value, expected):
    """Numbers are kilobytes; strings take b, kb, mb, gb (and k, m, g, KiB, MiB, GiB)."""
    assert to_kilobytes(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    "value, expected", [(50, 50), (12.5, 12.5), ("50", 50.0), ("50%", 50.0), (" 150 % ", 150.0)]
)
def test_to_percent(value, expected):
    """Numbers and strings, with or without a % sign, are percentages (above 100 allowed)."""
    assert to_percent(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["", "s", "5 parsecs", "-5", "5s5", "1,5s", None, [5]])
def test_bad_duration_message(value):
    """A bad duration names the value and gives examples."""
    with pytest.raises(ValueError) as err:
        to_seconds(value)
    assert str(err.value) == f"bad duration {value!r}; write e.g. 30, '30s', '5min' or '2h'"


def test_negative_duration_message():
    """A negative number of seconds is refused as negative."""
    with pytest.raises(ValueError, match=r"^duration must not be negative, got -5$"):
        to_seconds(-5)


def test_bool_is_not_a_duration():
    """True is not taken as 1 second."""
    with pytest.raises(ValueError, match=r"^expected duration such as 30, .*got True$"):
        to_seconds(True)


@pytest.mark.parametrize("value", ["150XB", "lots", "MB", "1.5.2GB"])
def test_bad_memory_size_message(value):
    """A bad memory size names the value and says kilobytes is the unit of numbers."""
    with pytest.raises(ValueError) as err:
        to_kilobytes(value)
    assert str(err.value) == (
        f"bad memory size {value!r}; write e.g. 150000 (kilobytes), '150MB' or '1.5GB'"
    )


def test_negative_memory_size_message():
    """A negative memory size is refused as negative."""
    with pytest.raises(ValueError, match=r"^memory size must not be negative, got -1$"):
        to_kilobytes(-1)


def test_negative_percentage_message():
    """A negative percentage is refused as negative, like the other units."""
    with pytest.raises(ValueError, match=r"^percentage must not be negative, got -5$"):
        to_percent(-5)


@pytest.mark.parametrize("value", ["half", "50s", "x%", "%", "50%%", True, None])
def test_bad_percentage_message(value):
    """A bad percentage names the value exactly as the config wrote it."""
    with pytest.raises(ValueError) as err:
        to_percent(value)
    assert str(err.value) == f"bad percentage {value!r}; write e.g. 50 or '50%'"


def test_converters_table():
    """The unit names used in ``units = {...}`` map to the converters."""
    table = units.CONVERTERS
    assert table == {"seconds": to_seconds, "kilobytes": to_kilobytes, "percent": to_percent}


@pytest.mark.parametrize(
    "helper, n, expected",
    [
        (units.seconds, 5, 5.0),
        (units.minutes, 2, 120.0),
        (units.hours, 1.5, 5400.0),
        (units.days, 1, 86400.0),
        (units.kilobytes, 10, 10.0),
        (units.megabytes, 150, 153600.0),
        (units.gigabytes, 1, 1048576.0),
        (units.percent, 50, 50.0),
    ],
)
def test_helpers(helper, n, expected):
    """seconds/minutes/hours/days give seconds, kilo/mega/gigabytes give KB, percent is %."""
    result = helper(n)
    assert result == expected
    assert isinstance(result, float)


def test_helpers_agree_with_strings():
    """minutes(5) equals '5min' and megabytes(150) equals '150MB'."""
    assert units.minutes(5) == to_seconds("5min")
    assert units.megabytes(150) == to_kilobytes("150MB")
    assert units.percent(50) == to_percent("50%")
