"""load_average, tested the way a plugin author would: the class alone, then by name."""

from godpy_load_average.load_average import LoadAverage

from godpy.registry import Plugins


def _cond(**attrs):
    cond = LoadAverage(**attrs)
    cond.prepare()
    return cond


def test_triggers_above_and_not_below():
    """A load always above -1 and never above a million; info shows the reading."""
    cond = _cond(above=-1)
    assert cond.check() is True
    assert cond.info.startswith("load average ") and cond.info.endswith("> -1")
    assert _cond(above=1_000_000, minutes=15).check() is False


def test_invalid_configuration_messages():
    """Missing above and a bad window are reported by valid()."""
    assert LoadAverage(minutes=2).valid() == [
        "condition load_average: 'above' is required",
        "condition load_average: minutes must be 1, 5 or 15, not 2",
    ]


def test_registered_under_its_entry_point():
    """Once installed, godpy finds it by name, from this distribution."""
    family = Plugins().families["conditions"]
    assert family.get("load_average") is LoadAverage
    assert family.provider("load_average") == "godpy-load-average 1.0.0"
