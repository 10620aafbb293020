"""`godpy conditions`: the plugin listing users read, without a daemon."""

import importlib.metadata

from click.testing import CliRunner

from godpy.cli import main

VERSION = importlib.metadata.version("godpy")


def run(*args):
    result = CliRunner().invoke(main, ["conditions", *args])
    return result.exit_code, result.stdout, result.stderr


def test_lists_conditions_with_attributes_units_and_provider():
    """Each condition: name, provider and entry point, summary, attributes with units."""
    code, out, err = run()
    assert code == 0, err
    block = out.split("\n\n")[[b.split()[0] for b in out.split("\n\n")].index("memory_usage")]
    assert block.splitlines() == [
        f"memory_usage  [godpy {VERSION} (godpy.conditions.memory_usage:MemoryUsage)]",
        "    True when resident memory (RSS) is above ``above``.",
        "    above        required  kilobytes",
        "    first_check  0         seconds",
        "    interval     None      seconds",
        "    notify       None",
        "    pid_file     None",
        "    times        1",
        "    transition   None",
        "    tree         False",
    ]


def test_behaviors_and_contacts_options():
    """--behaviors lists the behaviors; --contacts the contacts."""
    code, out, _ = run("--behaviors")
    assert code == 0
    names = [b.split()[0] for b in out.split("\n\n")]
    expected = ["clean_pid_file", "clean_unix_socket", "notify_when_flapping", "run_command"]
    assert names[:4] == expected and "wait_for_port" in names
    assert "    timeout  30.0      seconds" in out
    code, out, _ = run("--contacts")
    assert code == 0 and "email  [godpy" in out


def test_one_name_shows_its_whole_documentation():
    """NAME prints the docstring (Attributes, Example) and the attribute table."""
    code, out, _ = run("--behaviors", "wait_for_port")
    assert code == 0
    assert '    Example:\n        ``w.behavior("wait_for_port", port=8080, timeout=20)``' in out
    assert "    Settable attributes (default, unit):\n    interval  0.1       seconds" in out


def test_plugin_files_are_listed_with_their_path(tmp_path):
    """--plugins DIR loads files as God.load_plugins does; the file is the provider."""
    (tmp_path / "always_late.py").write_text(
        "from godpy.condition import PollCondition\n\n\n"
        "class AlwaysLate(PollCondition):\n"
        '    """True, late."""\n\n'
        "    minutes = 5\n\n"
        "    def test(self):\n"
        "        return True\n"
    )
    code, out, _ = run("--plugins", str(tmp_path), "always_late")
    assert code == 0
    assert out.splitlines()[:2] == [f"always_late  [{tmp_path}/always_late.py]", "    True, late."]
    assert "    minutes      5" in out


def test_unknown_name_exits_1_with_a_suggestion():
    """A misspelt name: one line on stderr, exit code 1."""
    code, out, err = run("memory_usag")
    assert (code, out) == (1, "")
    assert err.startswith("godpy: unknown condition 'memory_usag'; did you mean 'memory_usage'?")


def test_a_broken_plugin_file_exits_1_naming_it(tmp_path):
    """A plugin file that is not a plugin is reported, not a traceback."""
    (tmp_path / "oops.py").write_text("class Oops:\n    pass\n")
    code, _out, err = run("--plugins", str(tmp_path))
    assert code == 1
    assert err == (
        f"godpy: plugin 'oops' ({tmp_path}/oops.py): expected one Condition, Behavior or "
        "Contact class defined in the file; found none\n"
    )
