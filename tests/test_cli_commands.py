"""The real ``godpy`` CLI against a real daemon: what users see, and the exit codes."""

import json
import os
import re
import signal
import socket as socketlib
import subprocess
import time

import pytest
from cli_helpers import (
    cli,
    cli_popen,
    config,
    crasher,
    kill_probes,
    live_pid,
    pid_of,
    start_daemon,
    started,
    wait_all_up,
    watch,
)
from conftest import GODPY, alive, needs_root, read_lines, wait_until

from godpy.version import __version__

pytestmark = pytest.mark.system

STATUS_JSON_KEYS = [
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
]


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


def _app(tmp_path, *extra):
    """solo, and the group web of web-0 and web-1: three probes kept alive."""
    return config(
        tmp_path,
        watch(tmp_path, "solo"),
        watch(tmp_path, "web-0", group="web"),
        watch(tmp_path, "web-1", group="web"),
        *extra,
    )


@pytest.fixture
def app(tmp_path, godpy_run, pids):
    """A daemon running _app, every watch up; returns (run, {name: pid})."""
    run = start_daemon(godpy_run, _app(tmp_path))
    wait_all_up(run.socket)
    running = {n: pids.add(live_pid(tmp_path, n)) for n in ("solo", "web-0", "web-1")}
    return run, running


def _no_traceback(result):
    assert "Traceback" not in result.stderr, result.stderr


# -- start / stop / restart / monitor / unmonitor ---------------------------------------------
def test_restart_watch_returns_once_the_new_process_runs(tmp_path, app, pids):
    """`restart solo` prints what it acted on and returns with a new live pid in the pid file."""
    run, before = app
    result = cli("restart", "solo", socket=run.socket)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Sending 'restart' command to: solo\n  solo: up\n",
        "",
    )
    new = pid_of(tmp_path, "solo")
    pids.add(new)
    assert new != before["solo"] and alive(new)
    assert not alive(before["solo"])
    assert pid_of(tmp_path, "web-0") == before["web-0"]


def test_restart_group_restarts_every_member(tmp_path, app, pids):
    """`restart web` names both members, one `name: state` line each, and replaces both."""
    run, before = app
    result = cli("restart", "web", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        "Sending 'restart' command to: web-0, web-1\n  web-0: up\n  web-1: up\n",
    )
    for name in ("web-0", "web-1"):
        new = pids.add(pid_of(tmp_path, name))
        assert new != before[name] and alive(new)
    assert pid_of(tmp_path, "solo") == before["solo"]


def test_stop_all_then_start_all(tmp_path, app, pids):
    """`stop all` stops every process and unmonitors; `start all` brings all of them back."""
    run, before = app
    result = cli("stop", "all", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        "Sending 'stop' command to: solo, web-0, web-1\n"
        "  solo: unmonitored\n  web-0: unmonitored\n  web-1: unmonitored\n",
    )
    for name, pid in before.items():
        assert not alive(pid)
        assert "signal SIGTERM" in read_lines(tmp_path / f"{name}.rec")
        assert pid_of(tmp_path, name) is None
    assert cli("status", socket=run.socket).returncode == 3
    result = cli("start", "all", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        "Sending 'start' command to: solo, web-0, web-1\n  solo: up\n  web-0: up\n  web-1: up\n",
    )
    for name in before:
        assert alive(pids.add(pid_of(tmp_path, name)))
    assert cli("status", socket=run.socket).returncode == 0


def test_unmonitor_leaves_the_process_and_monitor_adopts_it(tmp_path, app):
    """`unmonitor web` leaves both processes running; `monitor web` takes them back, no restart."""
    run, before = app
    result = cli("unmonitor", "web", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        "Sending 'unmonitor' command to: web-0, web-1\n"
        "  web-0: unmonitored\n  web-1: unmonitored\n",
    )
    assert alive(before["web-0"]) and alive(before["web-1"])
    status = cli("status", "web", socket=run.socket)
    assert status.returncode == 3
    assert re.search(rf"  web-0: +unmonitored +pid {before['web-0']} ", status.stdout)
    result = cli("monitor", "web", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        "Sending 'monitor' command to: web-0, web-1\n  web-0: up\n  web-1: up\n",
    )
    assert [pid_of(tmp_path, "web-0"), pid_of(tmp_path, "web-1")] == [
        before["web-0"],
        before["web-1"],
    ]
    assert len(started(tmp_path, "web-0")) == 1


def _stubborn(tmp_path, stop_timeout):
    return config(
        tmp_path,
        watch(
            tmp_path,
            "stubborn",
            args=("--ignore-term",),
            lines=(f"w.stop_timeout = {stop_timeout}",),
        ),
    )


def test_no_wait_returns_before_the_restart_is_done(tmp_path, godpy_run, pids):
    """`restart --no-wait` returns at once (God's fire-and-forget); the restart happens later."""
    run = start_daemon(godpy_run, _stubborn(tmp_path, 5))
    old = pids.add(live_pid(tmp_path, "stubborn"))
    result = cli("restart", "--no-wait", "stubborn", socket=run.socket)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Sending 'restart' command to: stubborn\n",
        "",
    )
    assert alive(old)  # a waiting restart would have outlasted the 5 s stop_timeout
    new = wait_until(lambda: pid_of(tmp_path, "stubborn") not in (None, old), 20)
    pids.add(pid_of(tmp_path, "stubborn"))
    assert new and not alive(old)


def test_command_timeout_reports_what_is_pending(tmp_path, godpy_run, pids):
    """A command still running at --timeout exits 1 and says what the watch is doing."""
    run = start_daemon(godpy_run, _stubborn(tmp_path, 3))
    pids.add(live_pid(tmp_path, "stubborn"))
    result = cli("stop", "stubborn", "--timeout", "0.5", socket=run.socket)
    assert result.returncode == 1
    assert result.stdout == (
        "Sending 'stop' command to: stubborn\n"
        "  stubborn: unmonitored  still stopping after 0.5s (see: godpy log stubborn)\n"
    )
    assert result.stderr == "godpy: not stopped: stubborn\n"


def test_unknown_name_exits_1_with_a_suggestion(tmp_path, app):
    """Every command taking NAME refuses an unknown one with a close match, exit 1."""
    run, _ = app
    for argv in (
        ("restart", "wbe"),
        ("stop", "wbe"),
        ("status", "wbe"),
        ("signal", "wbe", "HUP"),
        ("remove", "wbe"),
        ("log", "wbe"),
    ):
        result = cli(*argv, socket=run.socket)
        assert (result.returncode, result.stdout, result.stderr) == (
            1,
            "",
            "godpy: no watch or group named 'wbe'; did you mean 'web'?\n",
        ), argv
    result = cli("start", "sol", socket=run.socket)
    assert result.stderr == "godpy: no watch or group named 'sol'; did you mean 'solo'?\n"


def test_usage_errors_exit_2():
    """Missing or invalid arguments are usage errors (exit 2), caught before any daemon call."""
    for argv, message in (
        (("start",), "give a watch or group name, or 'all': godpy start NAME"),
        (("restart",), "give a watch or group name, or 'all': godpy restart NAME"),
        (("load", "f", "bogus-action"), "'bogus-action' is not one of 'leave', 'stop', 'remove'"),
        (("signal", "web"), "Missing argument 'SIG'"),
        (("bogus-command",), "No such command 'bogus-command'"),
    ):
        result = cli(*argv, socket="/nonexistent/godpy.sock")
        assert result.returncode == 2, (argv, result)
        assert message in result.stderr, (argv, result.stderr)
        assert result.stderr.startswith("Usage: godpy ")
        _no_traceback(result)


# -- status ----------------------------------------------------------------------------------
UP = r"pid \d+  up \d+s  restarts 0"


@needs_root
def test_status_layout_ungrouped_first_then_groups(tmp_path, godpy_run, pids):
    """God's layout: ungrouped watches, then `group:` with members indented; a crash's reason."""
    run = start_daemon(godpy_run, _app(tmp_path, crasher(tmp_path)))
    for name in ("solo", "web-0", "web-1"):
        pids.add(live_pid(tmp_path, name))
    wait_until(lambda: "crasher move 'up' to 'unmonitored'" in run.text())
    result = cli("status", socket=run.socket)
    assert result.returncode == 3, result
    expected = [
        r"crasher:  unmonitored  exited with code 3 after [\d.]+s  restarts 0",
        rf"solo:     up           {UP}",
        r"web:",
        rf"  web-0:  up           {UP}",
        rf"  web-1:  up           {UP}",
    ]
    lines = result.stdout.splitlines()
    assert len(lines) == len(expected), result.stdout
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert result.stdout.endswith("\n") and result.stderr == ""

    one = cli("status", "web-1", socket=run.socket)
    assert one.returncode == 0
    assert re.fullmatch(rf"web:\n  web-1:  up  {UP}\n", one.stdout), one.stdout
    group = cli("status", "web", socket=run.socket)
    assert group.returncode == 0
    assert re.fullmatch(rf"web:\n  web-0:  up  {UP}\n  web-1:  up  {UP}\n", group.stdout)
    down = cli("status", "crasher", socket=run.socket)
    assert down.returncode == 3
    assert re.fullmatch(
        r"crasher:  unmonitored  exited with code 3 after [\d.]+s  restarts 0\n", down.stdout
    )


@needs_root
def test_status_json_is_a_stable_list(tmp_path, godpy_run, pids):
    """`status --json`: exactly the documented keys, one object per watch, exit 3 if one is down."""
    run = start_daemon(godpy_run, _app(tmp_path, crasher(tmp_path)))
    solo = pids.add(live_pid(tmp_path, "solo"))
    wait_until(lambda: "crasher move 'up' to 'unmonitored'" in run.text())
    result = cli("status", "--json", socket=run.socket)
    assert result.returncode == 3
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["crasher", "solo", "web-0", "web-1"]
    for row in rows:
        assert list(row) == STATUS_JSON_KEYS
    by_name = {r["name"]: r for r in rows}
    assert by_name["crasher"] == {
        "name": "crasher",
        "group": None,
        "kind": "watch",
        "state": "unmonitored",
        "action": None,
        "pid": None,
        "uptime": None,
        "restarts": 0,
        "memory": None,
        "cpu": None,
        "reason": by_name["crasher"]["reason"],
        "next_start_in": None,
        "depends_on": [],
        "ready": False,
        "not_ready": None,
        "notify_status": None,
    }
    assert re.fullmatch(r"exited with code 3 after [\d.]+s", by_name["crasher"]["reason"])
    row = by_name["solo"]
    assert (row["group"], row["state"], row["pid"], row["restarts"]) == (None, "up", solo, 0)
    assert row["reason"] is None and row["uptime"] >= 0
    assert isinstance(row["memory"], int) and row["memory"] > 1000  # kilobytes of a python
    assert isinstance(row["cpu"], (int, float))
    assert by_name["web-0"]["group"] == "web"
    group = cli("status", "web", "--json", socket=run.socket)
    assert group.returncode == 0
    assert [r["name"] for r in json.loads(group.stdout)] == ["web-0", "web-1"]


def _status_on_a_tty(run, env):
    """Run `godpy status` with its stdout on a pseudo-terminal; return what it wrote."""
    import pty

    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env.update(env, GODPY_SOCKET=run.socket)
    proc = subprocess.Popen([GODPY, "status"], stdout=slave, stderr=slave, env=full_env)
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(10) == 0
    finally:
        os.close(master)
    return b"".join(chunks).decode()


def test_no_colours_unless_a_terminal_without_no_color(tmp_path, app):
    """ANSI colours only on a terminal, and never with NO_COLOR set."""
    run, _ = app
    piped = cli("status", socket=run.socket)
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout
    assert "\x1b[" not in cli("status", socket=run.socket, env={"NO_COLOR": "1"}).stdout
    assert "\x1b[32m" in _status_on_a_tty(run, {})  # the check below can see colours
    plain = _status_on_a_tty(run, {"NO_COLOR": "1"})
    assert "solo:" in plain and "\x1b[" not in plain


# -- log -------------------------------------------------------------------------------------
def test_log_prints_only_that_watchs_lines(tmp_path, app):
    """`log solo` prints solo's lines (God's format) and none of the other watches'."""
    run, before = app
    result = cli("log", "solo", socket=run.socket)
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert f"solo [trigger] process {before['solo']} is running" in result.stdout
    assert all(
        re.match(r"[DIWEC] \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] +\w+: solo ", x) for x in lines
    )
    group = cli("log", "web", socket=run.socket)
    assert (group.returncode, group.stderr) == (
        1,
        "godpy: 'web' is a group; `log` takes one watch name\n",
    )


def test_log_follow_prints_new_lines_until_interrupted(tmp_path, app, pids):
    """`log solo -f` prints new lines as they come and exits cleanly on Ctrl-C (SIGINT)."""
    run, before = app
    out, err = tmp_path / "follow.out", tmp_path / "follow.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = cli_popen("log", "solo", "-f", socket=run.socket, stdout=stdout, stderr=stderr)
    pids.add(proc.pid)
    wait_until(lambda: "solo move 'start' to 'up'" in out.read_text())
    assert "start: " in out.read_text() and "solo restart" not in out.read_text()
    assert cli("restart", "solo", socket=run.socket).returncode == 0
    pids.add(pid_of(tmp_path, "solo"))
    wait_until(lambda: "solo move 'restart' to 'up'" in out.read_text(), 10)
    assert "web-0" not in out.read_text()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert err.read_text() == ""


# -- load ------------------------------------------------------------------------------------
def _reload(tmp_path):
    """The new file: solo and web-0 (replaced), fresh (new); web-1 no longer defined."""
    path = tmp_path / "new.god.py"
    path.write_text(
        config(
            tmp_path,
            watch(tmp_path, "solo"),
            watch(tmp_path, "web-0", group="web"),
            watch(tmp_path, "fresh"),
        )
    )
    return path


def test_load_leave_replaces_keeping_state_and_starts_new_watches(tmp_path, app, pids):
    """`load FILE`: the same watches are left as they are, new ones start, one line each."""
    run, before = app
    assert cli("unmonitor", "solo", socket=run.socket).returncode == 0
    path = _reload(tmp_path)
    result = cli("load", path, socket=run.socket)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"Loaded {path}\n  fresh: added\n  solo: unchanged\n  web-0: unchanged\n  web-1: left\n",
        "",
    )
    fresh = pids.add(live_pid(tmp_path, "fresh"))

    def rows_once_settled():
        rows = json.loads(cli("status", "--json", socket=run.socket).stdout)
        return all(r["state"] in ("up", "unmonitored") for r in rows) and rows

    rows = {r["name"]: r for r in wait_until(rows_once_settled)}
    assert sorted(rows) == ["fresh", "solo", "web-0", "web-1"]
    assert (rows["solo"]["state"], rows["solo"]["pid"]) == ("unmonitored", before["solo"])
    assert (rows["web-0"]["state"], rows["web-0"]["pid"]) == ("up", before["web-0"])
    assert (rows["fresh"]["state"], rows["fresh"]["pid"]) == ("up", fresh)
    assert (rows["web-1"]["state"], rows["web-1"]["pid"]) == ("up", before["web-1"])
    for name in ("solo", "web-0"):
        assert len(started(tmp_path, name)) == 1, name  # replaced, not restarted


def test_load_stop_stops_and_removes_missing_watches(tmp_path, app, pids):
    """`load FILE stop`: watches the file no longer defines are stopped and forgotten."""
    run, before = app
    path = _reload(tmp_path)
    result = cli("load", path, "stop", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        f"Loaded {path}\n  fresh: added\n  solo: unchanged\n  web-0: unchanged\n  web-1: stopped\n",
    )
    pids.add(live_pid(tmp_path, "fresh"))
    assert not alive(before["web-1"]) and alive(before["web-0"])
    assert "signal SIGTERM" in read_lines(tmp_path / "web-1.rec")
    rows = json.loads(cli("status", "--json", socket=run.socket).stdout)
    assert [r["name"] for r in rows] == ["fresh", "solo", "web-0"]


def test_load_remove_forgets_missing_watches_leaving_them_running(tmp_path, app, pids):
    """`load FILE remove`: missing watches are forgotten, their processes keep running."""
    run, before = app
    path = _reload(tmp_path)
    result = cli("load", path, "remove", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        f"Loaded {path}\n  fresh: added\n  solo: unchanged\n  web-0: unchanged\n  web-1: removed\n",
    )
    pids.add(live_pid(tmp_path, "fresh"))
    assert alive(before["web-1"])
    rows = json.loads(cli("status", "--json", socket=run.socket).stdout)
    assert [r["name"] for r in rows] == ["fresh", "solo", "web-0"]
    os.kill(before["web-1"], signal.SIGKILL)  # nobody watches it any more
    wait_until(lambda: not alive(before["web-1"]))
    assert len(started(tmp_path, "web-1")) == 1
    assert [x for x in read_lines(tmp_path / "web-1.rec") if x.startswith("signal")] == []


def test_load_bad_file_changes_nothing(tmp_path, app):
    """A bad file prints file:line and exit 1; every watch and process stays as it was."""
    run, before = app
    path = tmp_path / "bad.god.py"
    path.write_text(
        config(tmp_path, watch(tmp_path, "fresh"))
        + 'with God.watch() as w:\n    w.name = "x"\n    w.strat = "sleep 1"\n'
    )
    line = len(path.read_text().splitlines())
    result = cli("load", path, "stop", socket=run.socket)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"godpy: {path}:{line}: unknown attribute 'strat' for watch 'x'; did you mean 'start'?\n"
        f"godpy: {path}:{line - 2}: watch 'x': 'start' is required\n"
        f"godpy: {path}:{line - 2}: watch 'x': has no conditions, so its process would never "
        "be started or checked; did you mean w.keepalive()? (without the parentheses it does "
        "nothing)\n"
        "godpy: config not loaded; nothing changed\n",
    )
    rows = json.loads(cli("status", "--json", socket=run.socket).stdout)
    assert {r["name"]: r["pid"] for r in rows} == before
    assert all(r["state"] == "up" for r in rows)
    assert not (tmp_path / "fresh.rec").exists()


# -- remove / signal -------------------------------------------------------------------------
def test_remove_forgets_the_watch_and_leaves_its_process(tmp_path, app):
    """`remove web-0` forgets it (process running); `remove solo --stop` also stops it."""
    run, before = app
    result = cli("remove", "web-0", socket=run.socket)
    assert (result.returncode, result.stdout) == (0, "Removed: web-0\n")
    assert alive(before["web-0"])
    result = cli("remove", "solo", "--stop", socket=run.socket)
    assert (result.returncode, result.stdout) == (0, "Removed: solo\n")
    assert not alive(before["solo"])
    assert "signal SIGTERM" in read_lines(tmp_path / "solo.rec")
    rows = json.loads(cli("status", "--json", socket=run.socket).stdout)
    assert [r["name"] for r in rows] == ["web-1"]
    os.kill(before["web-0"], signal.SIGTERM)
    wait_until(lambda: not alive(before["web-0"]))
    assert len(started(tmp_path, "web-0")) == 1  # nobody restarted it


def test_signal_reaches_the_process_and_a_bad_name_fails(tmp_path, app):
    """`signal solo HUP` reaches the probe, a group's members all get it; BOGUS exits 1."""
    run, before = app
    result = cli("signal", "solo", "HUP", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        f"  solo: sent HUP to pid {before['solo']}\n",
    )
    wait_until(lambda: "signal SIGHUP" in read_lines(tmp_path / "solo.rec"))
    result = cli("signal", "web", "USR1", socket=run.socket)
    assert result.stdout == (
        f"  web-0: sent USR1 to pid {before['web-0']}\n"
        f"  web-1: sent USR1 to pid {before['web-1']}\n"
    )
    for name in ("web-0", "web-1"):
        wait_until(lambda n=name: "signal SIGUSR1" in read_lines(tmp_path / f"{n}.rec"))
    assert alive(before["solo"])
    result = cli("signal", "solo", "BOGUS", socket=run.socket)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "godpy: unknown signal 'BOGUS'; use e.g. 'TERM', 'HUP' or 9\n",
    )
    assert [x for x in read_lines(tmp_path / "solo.rec") if x.startswith("signal")] == [
        "signal SIGHUP"
    ]


# -- terminate / quit ------------------------------------------------------------------------
def test_terminate_stops_every_process_and_the_daemon(tmp_path, app):
    """`terminate`: every watched process stopped, the daemon exits 0, its socket is gone."""
    run, before = app
    result = cli("terminate", socket=run.socket)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Stopped all watches and the daemon\n",
        "",
    )
    assert not any(alive(pid) for pid in before.values())
    assert run.proc.wait(10) == 0
    assert not os.path.exists(run.socket)
    assert cli("status", socket=run.socket).returncode == 4


def test_quit_stops_the_daemon_and_leaves_processes(tmp_path, app):
    """`quit`: the daemon exits and removes its socket; the watched processes keep running."""
    run, before = app
    result = cli("quit", socket=run.socket)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Stopped the daemon; watched processes left running\n",
        "",
    )
    assert run.proc.wait(10) == 0
    assert not os.path.exists(run.socket)
    assert all(alive(pid) for pid in before.values())
    for name in before:
        assert [x for x in read_lines(tmp_path / f"{name}.rec") if x.startswith("signal")] == []


# -- check / version -------------------------------------------------------------------------
@needs_root
def test_check_reports_netlink_and_its_self_test(tmp_path, godpy_run):
    """`check` with netlink: names the event system and passes the live self-test, exit 0."""
    run = start_daemon(godpy_run, config(tmp_path, watch(tmp_path, "solo")))
    result = cli("check", socket=run.socket)
    assert result.returncode == 0, result
    assert re.fullmatch(
        r"event system: netlink\n\[ok\] exit event of a test process received in [\d.]+ ms\n",
        result.stdout,
    ), result.stdout


def test_check_with_no_events_reports_polling(tmp_path, godpy_run):
    """`check` against a --no-events daemon: polling, [fail], exit 1."""
    run = start_daemon(godpy_run, config(tmp_path, watch(tmp_path, "solo")), "--no-events")
    result = cli("check", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        1,
        "event system: polling\n[fail] process-exit events are off; watches poll\n",
    )


@pytest.mark.parametrize(
    "name",
    [
        "start",
        "stop",
        "restart",
        "monitor",
        "unmonitor",
        "status",
        "log",
        "load",
        "remove",
        "signal",
        "terminate",
        "quit",
        "check",
        "version",
    ],
)
def test_every_command_has_help(name):
    """`godpy NAME --help` prints the command's usage and exits 0, without a daemon."""
    result = cli(name, "--help", socket="/nonexistent/godpy.sock")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"Usage: godpy {name} ")


def test_version_needs_no_daemon():
    """`version` and `--version` print the package version, exit 0, with no daemon."""
    for argv in (("version",), ("--version",), ("-V",)):
        result = cli(*argv, socket="/nonexistent/godpy.sock")
        assert (result.returncode, result.stdout, result.stderr) == (
            0,
            f"godpy, version {__version__}\n",
            "",
        )


# -- no daemon -------------------------------------------------------------------------------
CLIENT_COMMANDS = [
    ("status",),
    ("status", "--json"),
    ("start", "web"),
    ("stop", "web"),
    ("restart", "web"),
    ("monitor", "web"),
    ("unmonitor", "web"),
    ("log", "web"),
    ("log", "web", "-f"),
    ("load", "{config}"),
    ("remove", "web"),
    ("signal", "web", "HUP"),
    ("terminate",),
    ("quit",),
]  # `check` self-tests in-process without a daemon (tests/test_system_check.py)


def _stale_socket(path):
    """Leave a socket file nobody listens on (what a SIGKILLed daemon leaves behind)."""
    path.parent.mkdir(mode=0o700)
    sock = socketlib.socket(socketlib.AF_UNIX)
    sock.bind(str(path))
    sock.close()


@pytest.mark.parametrize("where", ["missing", "stale"])
def test_every_command_fails_fast_without_a_daemon(tmp_path, where):
    """No daemon: each client command says so in under a second, exit 4, no traceback."""
    sock = tmp_path / "ctl" / "godpy.sock"
    commands = CLIENT_COMMANDS
    if where == "stale":
        _stale_socket(sock)
        commands = CLIENT_COMMANDS[:3]  # the same client path; keep the run short
    cfg = tmp_path / "app.god.py"
    cfg.write_text(config(tmp_path, watch(tmp_path, "solo")))
    slow = []
    for argv in commands:
        argv = [a.format(config=cfg) for a in argv]
        began = time.monotonic()
        result = cli(*argv, socket=sock)
        took = time.monotonic() - began
        assert (result.returncode, result.stdout, result.stderr) == (
            4,
            "",
            f"godpy: no godpy daemon on {sock} (is it running?)\n",
        ), argv
        if took >= 1.0:
            slow.append((argv, round(took, 3)))
    assert not slow, f"over 1 s without a daemon: {slow}"
    flag = cli("status", "--socket", sock)  # the option, not the variable
    assert (flag.returncode, flag.stderr) == (
        4,
        f"godpy: no godpy daemon on {sock} (is it running?)\n",
    )


def test_daemon_killed_mid_command_gives_a_clear_error(tmp_path, godpy_run, pids):
    """SIGKILL of the daemon during a long `stop`: the CLI reports it at once, exit 4."""
    run = start_daemon(godpy_run, _stubborn(tmp_path, 5))
    pids.add(live_pid(tmp_path, "stubborn"))
    with open(tmp_path / "stop.out", "w") as out, open(tmp_path / "stop.err", "w") as err:
        proc = cli_popen("stop", "stubborn", socket=run.socket, stdout=out, stderr=err)
    pids.add(proc.pid)
    wait_until(lambda: "signal SIGTERM" in read_lines(tmp_path / "stubborn.rec"))
    run.proc.kill()
    assert proc.wait(20) == 4  # at once: not after the stop's 5 s, nor its own timeout
    assert (tmp_path / "stop.err").read_text() == (
        f"godpy: the godpy daemon on {run.socket} closed the connection without answering "
        "(did it exit? see its log)\n"
    )
    assert (tmp_path / "stop.out").read_text() == ""
