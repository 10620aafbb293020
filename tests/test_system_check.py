"""`godpy check FILE` and `godpy -c`: every problem at its own line, nothing started or
created; a summary on success; configs in several files; the event self-test without a
daemon."""

import json
import os
import subprocess

import pytest
from cli_helpers import cli
from conftest import GODPY, GodpyRun, wait_until

pytestmark = pytest.mark.system

HEAD = "from godpy import God\nGod.pid_file_directory = {pids!r}\n"
SLEEPER = (
    "with God.watch() as w:\n    w.name = {name!r}\n"
    '    w.start = "sleep 300"\n    w.keepalive(interval=30)\n'
)

#: A config with one mistake of each kind a user makes (after HEAD: its first line is 3).
SEVERAL = """\
with God.watch() as w:
    w.name = "lazy"
    w.start = "sleep 300"
    w.keepalive

with God.watch() as w:
    w.name = "web"
    w.strat_grace = 3
    w.start = "sleep 300"
    w.interval = 0
    w.keepalive()
    with w.restart_if() as on:
        with on.condition("memory_usage") as c:
            c.above = "10MB"
            c.times = (5, 3)
            c.notify = "devs"
    with w.transition("up", "restrat") as on:
        on.condition("process_running", running=False)

with God.task() as t:
    t.name = "job"
    t.valid_states = ["idle", "busy"]
    t.initial_state = "bsuy"
    t.transition("idle", "busy")
    t.interval = 5
"""


def _problems(config, lines):
    """The stderr ``godpy check`` prints for ``lines`` of (line number, text)."""
    count = len(lines)
    text = "".join(f"godpy: {config}:{n}: {problem}\n" for n, problem in lines)
    return text + f"godpy: {count} problem{'s' if count > 1 else ''} found\n"


def test_check_reports_every_mistake_at_its_own_line(tmp_path):
    """A file with several mistakes: each at the line that made it (block by block, as
    each closes; notify names last), exit 1, nothing made."""
    pids = tmp_path / "pids"
    config = tmp_path / "app.god.py"
    config.write_text(HEAD.format(pids=str(pids)) + SEVERAL)
    out = cli("check", config)
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == _problems(
        config,
        [
            (
                3,
                "watch 'lazy': has no conditions, so its process would never be started or "
                "checked; did you mean w.keepalive()? (without the parentheses it does "
                "nothing)",
            ),
            (10, "unknown attribute 'strat_grace' for watch 'web'; did you mean 'start_grace'?"),
            (12, "watch 'web': interval must be more than 0 seconds, got 0"),
            (
                19,
                "watch 'web': transition to unknown state 'restrat'; did you mean 'restart'? "
                "(states: unmonitored, init, up, start, restart, stop, failed)",
            ),
            (
                17,
                "watch 'web': condition memory_usage: bad times (5, 3); use n or (x, y) "
                "with 1 <= x <= y",
            ),
            (25, "task 'job': initial_state 'bsuy' is not one of ['idle', 'busy']"),
            (
                18,
                "watch 'web': condition memory_usage: notify names unknown contact or group "
                "'devs' (contacts: none)",
            ),
        ],
    )
    assert not pids.exists(), "check created the pid directory"


def test_daemon_refuses_the_same_file_with_the_same_lines_before_any_log(tmp_path):
    """`godpy -c FILE -D` prints the very same problems first, then stops: no event-system
    line before them, no "godpy stopped" after."""
    config = tmp_path / "app.god.py"
    config.write_text(HEAD.format(pids=str(tmp_path / "pids")) + SEVERAL)
    checked = cli("check", config).stderr.splitlines()[:-1]
    out = subprocess.run(
        [GODPY, "-c", config, "-D", "--socket", tmp_path / "ctl" / "godpy.sock"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert out.returncode == 1
    assert out.stderr.splitlines() == checked + ["godpy: config not loaded; nothing was started"]


def test_check_of_a_good_config_prints_a_summary(tmp_path):
    """Success is one line counting watches, tasks and contacts, exit 0; nothing runs."""
    pids = tmp_path / "pids"
    config = tmp_path / "app.god.py"
    config.write_text(
        HEAD.format(pids=str(pids))
        + SLEEPER.format(name="a")
        + SLEEPER.format(name="b")
        + 'with God.task() as t:\n    t.name = "t"\n    t.valid_states = ["x", "y"]\n'
        '    t.initial_state = "x"\n    t.interval = 5\n    t.transition("x", "y")\n'
        'with God.contact("log") as c:\n    c.name = "ops"\n'
        f"    c.path = {str(tmp_path / 'notes.jsonl')!r}\n"
    )
    out = cli("check", config)
    assert (out.returncode, out.stdout, out.stderr) == (
        0,
        "2 watches, 1 task, 1 contact: ok\n",
        "",
    )
    assert not pids.exists()


def test_check_applies_the_trust_rule_and_insecure_config(tmp_path):
    """A file its group may write is refused by check too; --insecure-config warns."""
    config = tmp_path / "app.god.py"
    config.write_text(HEAD.format(pids=str(tmp_path / "pids")) + SLEEPER.format(name="a"))
    config.chmod(0o664)
    refused = cli("check", config)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == (
        f"godpy: {config}: refused: {config} is writable by its group (mode 0664); "
        f"fix: chmod go-w {config}, or pass --insecure-config\n"
        "godpy: 1 problem found\n"
    )
    allowed = cli("check", "--insecure-config", config)
    assert (allowed.returncode, allowed.stdout) == (0, "1 watch, 0 tasks, 0 contacts: ok\n")
    assert allowed.stderr == (
        f"godpy: warning: {config}: loaded anyway (--insecure-config): {config} is "
        f"writable by its group (mode 0664); fix: chmod go-w {config}\n"
    )


def _conf_d(tmp_path):
    """app.god.py, which loads conf.d/*.god.py, and two parts in conf.d."""
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.god.py").write_text(
        "from godpy import God\n" + SLEEPER.format(name="b")
    )
    (tmp_path / "conf.d" / "a.god.py").write_text(
        "from godpy import God\n" + SLEEPER.format(name="a")
    )
    config = tmp_path / "app.god.py"
    config.write_text(
        HEAD.format(pids=str(tmp_path / "pids"))
        + 'parts = God.load("conf.d/*.god.py")\n'
        + "assert [p.__file__.rsplit('/', 1)[1] for p in parts] == "
        + "['a.god.py', 'b.god.py']\n"
    )
    return config


def test_god_load_glob_loads_every_part_in_sorted_order(tmp_path):
    """God.load("conf.d/*.god.py") runs each part, sorted, from the config's folder."""
    config = _conf_d(tmp_path)
    out = cli("check", config)
    assert (out.returncode, out.stdout, out.stderr) == (
        0,
        "2 watches, 0 tasks, 0 contacts: ok\n",
        "",
    )


def test_config_may_be_a_folder_or_a_glob(tmp_path):
    """check (as -c) takes a folder (its *.god.py files) or a glob."""
    _conf_d(tmp_path)
    folder = cli("check", tmp_path / "conf.d")
    glob = cli("check", tmp_path / "conf.d" / "[ab].god.py")
    empty = cli("check", tmp_path / "pids")
    for out in (folder, glob):
        assert (out.returncode, out.stdout) == (0, "2 watches, 0 tasks, 0 contacts: ok\n")
    assert empty.returncode == 1
    assert empty.stderr.startswith(f"godpy: {tmp_path / 'pids'}: ")


def test_daemon_runs_a_folder_and_load_runs_god_load_again(tmp_path, pids):
    """`godpy -c DIR` loads every part; `godpy load` of a config whose God.load globs the
    parts runs it again, so a part added meanwhile joins."""
    config = _conf_d(tmp_path)
    run = GodpyRun(
        tmp_path / "conf.d", tmp_path / "godpy.log", "--no-events", "--log-level", "warn"
    )
    pids.add(run.proc.pid)
    try:
        wait_until(lambda: cli("status", socket=run.socket).returncode == 0, 30, what="up")
        rows = json.loads(cli("status", "--json", socket=run.socket).stdout)
        assert [r["name"] for r in rows] == ["a", "b"]
        (tmp_path / "conf.d" / "c.god.py").write_text(
            "from godpy import God\n" + SLEEPER.format(name="c")
        )
        config.write_text(config.read_text().replace("'b.god.py']", "'b.god.py', 'c.god.py']"))
        loaded = cli("load", config, socket=run.socket)
        assert (loaded.returncode, loaded.stdout) == (
            0,
            f"Loaded {config}\n  a: unchanged\n  b: unchanged\n  c: added\n",
        )
        assert cli("terminate", socket=run.socket).returncode == 0
        assert run.proc.wait(60) == 0
        assert run.text() == "", "--log-level warn logged more than warnings"
    finally:
        run.kill()


def test_log_level_accepts_gods_fatal(tmp_path):
    """--log-level fatal is accepted (not a usage error)."""
    config = tmp_path / "app.god.py"
    config.write_text("with God.watch() as w:\n    pass\n")
    out = cli("-c", config, "-D", "--log-level", "fatal", "--no-events")
    assert out.returncode == 1
    assert "NameError: name 'God' is not defined" in out.stderr


def test_check_without_file_self_tests_here_when_no_daemon_answers(tmp_path):
    """`godpy check` with no daemon runs the event self-test in its own process."""
    out = cli("check", socket=tmp_path / "none.sock")
    first = out.stdout.splitlines()[0]
    assert first.endswith(" (tested here: no daemon answered)"), out.stdout
    if os.geteuid() == 0:
        assert out.returncode == 0, out.stdout
        assert first == "event system: netlink (tested here: no daemon answered)"
    else:
        assert out.returncode == 1
