"""Plugin registration: entry points, providers, conflicts, checks, plugin files."""

import importlib.metadata

import pytest
from godpy.conditions.memory_usage import MemoryUsage

from godpy.behavior import Behavior
from godpy.condition import EventCondition, PollCondition
from godpy.errors import PluginError
from godpy.registry import PluginFamily, Plugins


class Dist:
    """The part of a distribution the registry reads."""

    def __init__(self, name, version="1.0"):
        self.name, self.version = name, version


class FakeEntryPoint:
    """An entry point whose ``load`` returns ``obj`` (or raises it, if an exception)."""

    def __init__(self, name, obj, dist="acme-plugins", value=None):
        self.name, self.obj, self.dist = name, obj, Dist(dist)
        self.value = value or f"{dist.replace('-', '_')}.{name}:{getattr(obj, '__name__', 'x')}"

    def load(self):
        if isinstance(self.obj, Exception):
            raise self.obj
        return self.obj


def finder(*eps):
    """An ``entry_points(group=...)`` replacement serving ``eps`` for conditions."""
    return lambda group: [ep for ep in eps if group == "godpy.conditions"]


class LoadAverage(PollCondition):
    above = None

    def test(self):
        return True


def family(*eps):
    return PluginFamily("conditions", finder(*eps))


def test_builtins_come_from_godpy_entry_points():
    """Built-ins are found through godpy's own entry points, provider 'godpy <version>'."""
    conditions = Plugins().families["conditions"]
    version = importlib.metadata.version("godpy")
    assert conditions.get("memory_usage") is MemoryUsage
    assert conditions.provider("memory_usage") == f"godpy {version}"
    assert MemoryUsage.plugin_name == "memory_usage"


def test_third_party_entry_point_is_found_with_its_distribution():
    """A third-party entry point is registered under its name, provider named."""
    plugins = family(FakeEntryPoint("load_average", LoadAverage))
    assert plugins.get("load_average") is LoadAverage
    assert plugins.provider("load_average") == "acme-plugins 1.0"


def test_two_providers_claiming_one_name_is_an_error_naming_both():
    """Two distributions giving different classes under one name: both are named."""
    other = type("Mem", (PollCondition,), {"test": lambda self: True})
    plugins = family(
        FakeEntryPoint("memory_usage", MemoryUsage, "godpy", "godpy.conditions.x:MemoryUsage"),
        FakeEntryPoint("memory_usage", other, "evil-plugins", "evil.mem:Mem"),
    )
    with pytest.raises(PluginError) as err:
        plugins.get("memory_usage")
    assert str(err.value) == (
        "condition 'memory_usage' is claimed by two providers: godpy 1.0 "
        "(godpy.conditions.x:MemoryUsage) and evil-plugins 1.0 (evil.mem:Mem); "
        "uninstall or rename one of them"
    )


def test_same_class_seen_twice_is_not_a_conflict():
    """Two claims resolving to the very same class (a re-export) are accepted."""
    plugins = family(
        FakeEntryPoint("load_average", LoadAverage, "acme-plugins"),
        FakeEntryPoint("load_average", LoadAverage, "acme-extras", "acme_extras:LoadAverage"),
    )
    assert plugins.get("load_average") is LoadAverage


def test_real_dist_info_claiming_a_builtin_name_conflicts(tmp_path, monkeypatch):
    """A real installed distribution claiming 'memory_usage' makes that name an error."""
    (tmp_path / "rogue_mem.py").write_text(
        "from godpy.condition import PollCondition\n"
        "class RogueMem(PollCondition):\n"
        "    def test(self):\n"
        "        return True\n"
    )
    info = tmp_path / "rogue_mem-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rogue-mem\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(
        "[godpy.conditions]\nmemory_usage = rogue_mem:RogueMem\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as err:
        Plugins().condition("memory_usage")
    message = str(err.value)
    assert message.startswith("condition 'memory_usage' is claimed by two providers: ")
    assert "rogue-mem 0.3 (rogue_mem:RogueMem)" in message
    version = importlib.metadata.version("godpy")
    assert f"godpy {version} (godpy.conditions.memory_usage:MemoryUsage)" in message
    assert Plugins().condition("cpu_usage").__name__ == "CpuUsage"


@pytest.mark.parametrize(
    "obj, expected",
    [
        (
            type("NotACondition", (), {}),
            "condition 'bad' (acme-plugins 1.0 (acme_plugins.bad:NotACondition)): expected a "
            "subclass of godpy.condition.Condition; found class NotACondition(object)",
        ),
        (
            type("NoTest", (PollCondition,), {}),
            "condition 'bad' (acme-plugins 1.0 (acme_plugins.bad:NoTest)): expected a "
            "PollCondition to define test(); found none in NoTest",
        ),
        (
            type("Half", (EventCondition,), {"register": lambda self: None}),
            "condition 'bad' (acme-plugins 1.0 (acme_plugins.bad:Half)): expected an "
            "EventCondition to define deregister(); found none in Half",
        ),
        (
            len,
            "condition 'bad' (acme-plugins 1.0 (acme_plugins.bad:len)): expected a class; "
            "found builtin_function_or_method len",
        ),
        (
            ModuleNotFoundError("No module named 'numpy'"),
            "condition 'bad' (acme-plugins 1.0 (acme_plugins.bad:x)): expected an importable "
            "class; found ModuleNotFoundError: No module named 'numpy'",
        ),
    ],
)
def test_registration_checks_name_plugin_expected_and_found(obj, expected):
    """Each check's message names the plugin and provider, what was expected and found."""
    with pytest.raises(PluginError) as err:
        family(FakeEntryPoint("bad", obj)).get("bad")
    assert str(err.value) == expected.replace("an EventCondition", "a EventCondition")


def test_required_and_units_must_name_declared_attributes():
    """A 'required' or 'units' entry without a class attribute is caught at registration."""
    typo = type(
        "Typo", (PollCondition,), {"above": None, "required": ("abvoe",), "test": lambda s: 1}
    )
    with pytest.raises(
        PluginError,
        match="expected 'required' to name declared attributes; "
        "found 'abvoe', which is not a class attribute with a default",
    ):
        family(FakeEntryPoint("typo", typo)).get("typo")


def test_behavior_without_hooks_is_refused():
    """A behavior must define some before_/after_ hook."""
    idle = type("Idle", (Behavior,), {})
    with pytest.raises(PluginError) as err:
        Plugins().behavior(idle)
    assert str(err.value) == (
        "behavior 'idle' (config file): expected a before_<action> or after_<action> "
        "method; found none in Idle"
    )


def test_unknown_name_suggests_and_lists():
    """An unknown name gets a close match and the known names."""
    with pytest.raises(PluginError) as err:
        Plugins().condition("memory_usag")
    assert str(err.value).startswith(
        "unknown condition 'memory_usag'; did you mean 'memory_usage'?"
    )


def test_units_of_a_subclass_extend_the_base_units():
    """A plugin's own `units` keeps the base's (interval stays in seconds)."""
    cls = type("Slow", (PollCondition,), {"limit": None, "units": {"limit": "seconds"}})
    assert cls.units == {"interval": "seconds", "first_check": "seconds", "limit": "seconds"}
    assert cls(interval="2min").interval == 120


PLUGIN_FILE = """
from godpy.condition import PollCondition

class {cls}(PollCondition):
    '''True after `count` tests.'''

    count = 2

    def test(self):
        return True
"""

BEHAVIOR_FILE = """
from godpy.behavior import Behavior

class Stamp(Behavior):
    def before_start(self):
        return "stamped"
"""


def test_load_dir_registers_each_file_by_its_name_and_kind(tmp_path):
    """Files register under their module name; the base class decides the kind."""
    (tmp_path / "counter_reaches.py").write_text(PLUGIN_FILE.format(cls="CounterReaches"))
    (tmp_path / "stamp.py").write_text(BEHAVIOR_FILE)
    (tmp_path / "_helpers.py").write_text("raise SystemExit('not a plugin')\n")
    plugins = Plugins()
    assert plugins.load_dir(str(tmp_path)) == [
        ("conditions", "counter_reaches"),
        ("behaviors", "stamp"),
    ]
    assert plugins.condition("counter_reaches").__name__ == "CounterReaches"
    assert plugins.behavior("stamp").plugin_name == "stamp"
    assert plugins.families["conditions"].provider("counter_reaches") == str(
        tmp_path / "counter_reaches.py"
    )


def test_load_dir_reports_every_bad_file(tmp_path):
    """No class, two classes, a broken import and a built-in's name: all reported at once."""
    (tmp_path / "empty.py").write_text("X = 1\n")
    (tmp_path / "two.py").write_text(
        PLUGIN_FILE.format(cls="A") + PLUGIN_FILE.format(cls="B").split("\n", 2)[2]
    )
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    (tmp_path / "memory_usage.py").write_text(PLUGIN_FILE.format(cls="MyMemory"))
    with pytest.raises(PluginError) as err:
        Plugins().load_dir(str(tmp_path))
    lines = str(err.value).splitlines()
    assert lines[0] == (
        f"plugin 'broken' ({tmp_path}/broken.py): expected an importable file; found "
        "ModuleNotFoundError: No module named 'not_a_module_anywhere'"
    )
    assert lines[1] == (
        f"plugin 'empty' ({tmp_path}/empty.py): expected one Condition, Behavior or Contact "
        "class defined in the file; found none"
    )
    assert lines[2].startswith("condition 'memory_usage' is claimed by two providers: godpy ")
    assert lines[2].endswith(f"and {tmp_path}/memory_usage.py; uninstall or rename one of them")
    assert lines[3].endswith("class defined in the file; found A, B")


def test_class_handed_over_is_checked_and_named():
    """on.condition(MyCheck): the class is checked and named after itself."""
    fast = type("FastMemory", (MemoryUsage,), {})
    assert Plugins().condition(fast) is fast
    assert fast(above=1).describe() == "condition fast_memory"
    with pytest.raises(PluginError, match="expected a subclass of godpy.condition.Condition"):
        Plugins().condition(int)
