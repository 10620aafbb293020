"""Bad configs: one clear line naming file and line, exit 1, and nothing started."""

import subprocess

import pytest
from conftest import GODPY

HEAD = "from godpy import God\nGod.pid_file_directory = {pids!r}\n"
GOOD = 'with God.watch() as w:\n    w.name = "ok"\n    w.start = "sleep 100"\n    w.keepalive()\n'

# Each case: (config body appended after HEAD and GOOD, line of the fault counted
# from the body's first line, the message expected on that line).
BODY_START = 6

CASES = {
    "attribute_typo": (
        'with God.watch() as w:\n    w.name = "a"\n    w.strat = "sleep 10"\n',
        3,
        "unknown attribute 'strat' for watch 'a'; did you mean 'start'?",
    ),
    "missing_start": (
        'with God.watch() as w:\n    w.name = "a"\n',
        1,
        "watch 'a': 'start' is required",
    ),
    "missing_name": (
        'with God.watch() as w:\n    w.start = "sleep 10"\n',
        1,
        "watch (unnamed): 'name' is required",
    ),
    "duplicate_name": (
        'for i in range(2):\n    with God.watch() as w:\n        w.name = "a"\n'
        '        w.start = "sleep 10"\n        w.keepalive()\n',
        3,
        "watch 'a': name already used at",
    ),
    "unknown_state": (
        'with God.watch() as w:\n    w.name = "a"\n    w.start = "sleep 10"\n'
        '    w.interval = 5\n    with w.transition("up", "restrat") as on:\n'
        '        on.condition("process_running", running=False)\n',
        5,
        "transition to unknown state 'restrat'; did you mean 'restart'?",
    ),
    "bad_unit": (
        'with God.watch() as w:\n    w.name = "a"\n    w.start = "sleep 10"\n'
        '    w.keepalive(memory_max="150XB")\n',
        4,
        "keepalive: bad memory size '150XB'; write e.g.",
    ),
    "bad_interval_unit": (
        'with God.watch() as w:\n    w.name = "a"\n    w.start = "sleep 10"\n'
        '    w.interval = "5 parsecs"\n',
        4,
        "interval: bad duration '5 parsecs'",
    ),
    "exception_in_file": (
        'limits = {}\nmax_mem = limits["web"]\n',
        2,
        "KeyError: 'web'",
    ),
    "syntax_error": (
        "with God.watch() as w\n    pass\n",
        1,
        "syntax error",
    ),
    "unknown_condition": (
        'with God.watch() as w:\n    w.name = "a"\n    w.start = "sleep 10"\n'
        "    w.interval = 5\n    with w.restart_if() as on:\n"
        '        on.condition("memory_usge", above="10MB")\n',
        6,
        "unknown condition 'memory_usge'; did you mean 'memory_usage'? (known: ",
    ),
    "unknown_setting": (
        'God.pid_file_dir = "/tmp"\n',
        1,
        "unknown setting God.pid_file_dir; did you mean 'pid_file_directory'?",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_is_refused_with_file_and_line(case, tmp_path):
    """Each kind of mistake gives `file:line: message`, exit 1, and starts nothing."""
    body, line, message = CASES[case]
    pids = tmp_path / "pids"
    config = tmp_path / "bad.god.py"
    config.write_text(HEAD.format(pids=str(pids)) + GOOD + body)
    out = subprocess.run(
        [GODPY, "-c", str(config), "-D", "--no-events"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stderr
    errors = [x for x in out.stderr.splitlines() if x.startswith("godpy: ")]
    assert any(f"{config}:{line + BODY_START}: " in x and message in x for x in errors), out.stderr
    assert "nothing was started" in out.stderr
    assert "Traceback" not in out.stderr
    assert not pids.exists() or not list(pids.iterdir())


def test_several_problems_are_all_reported(tmp_path):
    """Problems found when blocks close are collected and reported together."""
    config = tmp_path / "two.god.py"
    config.write_text(
        HEAD.format(pids=str(tmp_path / "pids"))
        + 'with God.watch() as w:\n    w.name = "a"\n\n'
        + 'with God.watch() as w:\n    w.name = "b"\n'
    )
    out = subprocess.run(
        [GODPY, "-c", str(config), "-D", "--no-events"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    assert f"{config}:3: watch 'a': 'start' is required" in out.stderr
    assert f"{config}:6: watch 'b': 'start' is required" in out.stderr


def test_missing_config_file(tmp_path):
    """A config path that does not exist is one line and exit 1."""
    out = subprocess.run(
        [GODPY, "-c", str(tmp_path / "nope.god.py"), "-D", "--no-events"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "nope.god.py: cannot read config file: No such file or directory" in out.stderr
