"""Plugins a config brings itself: a class defined in the config, and God.load_plugins."""

import pytest

PLUGIN = '''
from godpy.condition import PollCondition


class CounterReaches(PollCondition):
    """True from the `count`-th test on."""

    count = 3

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._tests = 0

    def test(self):
        self._tests += 1
        self.info = f"test {self._tests} of {self.count}"
        return self._tests >= self.count
'''

CONFIG = """
import os

from godpy import God
from godpy.condition import PollCondition

God.load_plugins("plugins")


class MarkerFile(PollCondition):
    path = None
    required = ("path",)

    def test(self):
        self.info = f"marker {os.path.basename(self.path)}"
        return os.path.exists(self.path)


with God.task() as t:
    t.name = "pipeline"
    t.valid_states = ["waiting", "found", "done"]
    t.initial_state = "waiting"
    t.interval = 0.05
    with t.transition("waiting", "found") as on:
        on.condition(MarkerFile, path=os.path.join(os.path.dirname(__file__), "marker"))
    with t.transition("found", "done") as on:
        on.condition("counter_reaches", count=2)
"""


@pytest.mark.system
def test_config_class_and_plugin_file_conditions_are_tested(tmp_path, godpy_run):
    """A daemon tests both a condition class from the config and one from a plugin file."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "counter_reaches.py").write_text(PLUGIN)
    run = godpy_run(CONFIG, "--log-level", "debug")
    run.wait_log("pipeline [ok] marker marker (MarkerFile)")
    (tmp_path / "marker").write_text("")
    run.wait_log("pipeline [trigger] marker marker (MarkerFile)")
    run.wait_log("pipeline [ok] test 1 of 2 (CounterReaches)")
    run.wait_log("pipeline [trigger] test 2 of 2 (CounterReaches)")
    run.wait_log("pipeline move 'found' to 'done'")
    assert run.terminate() == 0


@pytest.mark.system
def test_plugin_file_with_a_builtin_name_is_refused_at_its_line(tmp_path, godpy_run):
    """A plugin file claiming a built-in's name stops the load, naming both providers."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "always.py").write_text(PLUGIN)
    run = godpy_run(CONFIG)
    assert run.proc.wait(30) == 1
    text = run.text()
    assert (
        f"{tmp_path}/app.god.py:7: condition 'always' is claimed by two providers: godpy " in text
    )
    assert f"and {tmp_path}/plugins/always.py; uninstall or rename one of them" in text
