"""Configurable: declared attributes, typo suggestions, units at assignment, required."""

import pytest

from godpy.configurable import LOADING_FILE, Configurable
from godpy.errors import AttributeProblem


class Gauge(Configurable):
    """A small configurable used by these tests."""

    kind = "condition"
    above = None
    interval = 5
    label = "gauge"
    required = ("above",)
    units = {"above": "kilobytes", "interval": "seconds"}

    def helper(self):
        return "not an attribute"

    @property
    def computed(self):
        return "read only"


class Gauge2(Gauge):
    """Adds an attribute to the inherited ones."""

    below = None


def test_unknown_attribute_suggests_close_match():
    """A typo raises AttributeProblem naming the attribute, the object and the fix."""
    g = Gauge(above=1)
    with pytest.raises(AttributeProblem) as err:
        g.abvoe = 10
    assert str(err.value) == "unknown attribute 'abvoe' for condition gauge; did you mean 'above'?"


def test_unknown_attribute_without_close_match():
    """A name like nothing declared gets no suggestion."""
    with pytest.raises(AttributeProblem) as err:
        Gauge().zzz = 1
    assert str(err.value) == "unknown attribute 'zzz' for condition gauge"


def test_unknown_attribute_in_constructor():
    """Keyword arguments get the same check as assignment."""
    with pytest.raises(AttributeProblem, match="unknown attribute 'intervall'.*'interval'"):
        Gauge(intervall=3)


def test_attribute_problem_is_an_attribute_error():
    """AttributeProblem is an AttributeError, so hasattr-style code still works."""
    assert issubclass(AttributeProblem, AttributeError)


def test_methods_and_read_only_properties_are_not_settable():
    """Methods and properties without a setter are not config attributes."""
    g = Gauge()
    for name in ("helper", "computed", "kind", "units"):
        with pytest.raises(AttributeProblem):
            setattr(g, name, 1)


def test_private_attributes_are_free():
    """Names starting with an underscore bypass the check (internal state)."""
    g = Gauge()
    g._anything = 3
    assert g._anything == 3


def test_units_are_converted_at_assignment():
    """A value for an attribute with a unit is converted when it is set."""
    g = Gauge(above="150MB", interval="2min")
    assert g.above == 153600.0
    assert g.interval == 120.0
    g.above = "1GB"
    assert g.above == 1048576.0


def test_none_is_not_converted():
    """None stays None on an attribute with a unit."""
    g = Gauge(above="1MB")
    g.above = None
    assert g.above is None


def test_bad_unit_value_raises_at_assignment():
    """A value its unit cannot read raises AttributeProblem naming the attribute."""
    g = Gauge()
    with pytest.raises(AttributeProblem) as err:
        g.above = "lots"
    assert str(err.value) == (
        "condition gauge: above: bad memory size 'lots'; "
        "write e.g. 150000 (kilobytes), '150MB' or '1.5GB'"
    )


def test_attribute_without_unit_is_kept_as_given():
    """An attribute without a unit keeps the value as given."""
    g = Gauge(label="150MB")
    assert g.label == "150MB"


def test_setting_does_not_change_the_class_default():
    """An instance's value does not leak to the class or to other instances."""
    Gauge(interval=9)
    assert Gauge.interval == 5
    assert Gauge().interval == 5


def test_required_attributes():
    """valid() reports each required attribute still None, and nothing once set."""
    g = Gauge()
    assert g.valid() == ["condition gauge: 'above' is required"]
    g.above = 1
    assert g.valid() == []


def test_attributes_lists_declared_names_and_defaults():
    """attributes() gives declared attributes with defaults: no methods, meta or privates."""
    assert Gauge.attributes() == {"above": None, "interval": 5, "label": "gauge"}


def test_attributes_include_inherited_ones():
    """A subclass declares its own attributes on top of its bases'."""
    assert Gauge2.attributes() == {"above": None, "below": None, "interval": 5, "label": "gauge"}
    g = Gauge2(below=3)
    assert g.below == 3
    with pytest.raises(AttributeProblem):
        Gauge(below=3)


def test_plugin_name_names_the_object():
    """describe() uses the registered plugin name when there is one."""

    class Named(Gauge):
        plugin_name = "my_gauge"

    with pytest.raises(AttributeProblem, match="for condition my_gauge"):
        Named().nope = 1
    assert "plugin_name" not in Named.attributes()


def test_configure_checks_like_assignment():
    """configure() sets several attributes with the same checks and conversions."""
    g = Gauge()
    g.configure(above="2MB", label="x")
    assert (g.above, g.label) == (2048.0, "x")
    with pytest.raises(AttributeProblem):
        g.configure(lable="y")


def test_records_where_it_was_made():
    """An object remembers the file:line of the line that created it."""
    g = Gauge()
    line = test_records_where_it_was_made.__code__.co_firstlineno + 2
    assert g._where == f"{__file__}:{line}"


def test_records_the_config_file_line_when_loading(tmp_path):
    """While a config file loads, its own line is the location, not the helper's."""
    config = tmp_path / "app.god.py"
    config.write_text("# app.god.py\n\ng = Gauge()\n")
    token = LOADING_FILE.set(str(config))
    try:
        scope = {"Gauge": Gauge}
        exec(compile(config.read_text(), str(config), "exec"), scope)
    finally:
        LOADING_FILE.reset(token)
    assert scope["g"]._where == f"{config}:3"
