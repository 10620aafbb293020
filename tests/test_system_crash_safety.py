"""The operator's intent outlives the daemon, and a reload changes only what changed
(real daemons killed with SIGKILL, real processes, the real CLI)."""

import json
import os
import signal
import subprocess

import pytest
from cli_helpers import cli, config, kill_probes, live_pid, started, watch
from conftest import GodpyRun, alive, wait_until

pytestmark = pytest.mark.system


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


def five(tmp_path):
    """Five kept-alive probes, a to e."""
    return config(tmp_path, *(watch(tmp_path, n) for n in "abcde"))


def rows(run):
    return {r["name"]: r for r in json.loads(cli("status", "--json", socket=run.socket).stdout)}


def saved(tmp_path, name):
    """Watch ``name``'s record in the state file, as written so far."""
    path = tmp_path / "ctl-0" / "godpy.state"
    return json.loads(path.read_text())["tasks"][name]


def kill_daemon(run):
    """kill -9 of the daemon alone: its watched processes keep running."""
    run.proc.kill()
    run.proc.wait()


@pytest.fixture
def again(tmp_path, pids):
    """``again(run, text)``: the same command line as ``run`` again (same socket, so the
    same state file), logging to a new file; killed at teardown."""
    runs = []

    def start(first, text):
        config_path = tmp_path / f"again-{len(runs)}.god.py"
        config_path.write_text(text)
        run = GodpyRun(config_path, tmp_path / f"again-{len(runs)}.log", socket=first.socket)
        pids.add(run.proc.pid)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.kill()


def test_kill_9_of_the_daemon_keeps_intent_counters_and_processes(tmp_path, godpy_run, pids, again):
    """Stopped stays stopped, unmonitored stays unmonitored with its process untouched,
    restarts carry on, a process killed meanwhile is started again with the reason, and
    the others are re-adopted, not duplicated."""
    run = godpy_run(five(tmp_path))
    before = {n: pids.add(live_pid(tmp_path, n)) for n in "abcde"}
    assert cli("stop", "a", socket=run.socket).returncode == 0
    assert cli("unmonitor", "b", socket=run.socket).returncode == 0
    assert cli("restart", "c", socket=run.socket).returncode == 0
    c_pid = pids.add(live_pid(tmp_path, "c"))
    wait_until(lambda: saved(tmp_path, "a")["intent"] == "stopped")
    wait_until(lambda: saved(tmp_path, "b")["intent"] == "unmonitored")
    wait_until(lambda: saved(tmp_path, "c")["restarts"] == 1 and saved(tmp_path, "c")["pid"])
    kill_daemon(run)
    os.kill(before["d"], signal.SIGKILL)
    run = again(run, five(tmp_path))
    d_pid = pids.add(
        wait_until(lambda: live_pid(tmp_path, "d") != before["d"] and live_pid(tmp_path, "d"))
    )
    state = wait_until(lambda: (r := rows(run)) and r["d"]["state"] == "up" and r)
    assert (state["a"]["state"], state["a"]["pid"]) == ("unmonitored", None)
    assert state["a"]["reason"].startswith("stopped by the operator")
    assert (state["b"]["state"], state["b"]["pid"]) == ("unmonitored", before["b"])
    assert (state["c"]["pid"], state["c"]["restarts"]) == (c_pid, 1)
    assert (state["d"]["pid"], state["d"]["restarts"]) == (d_pid, 1)
    assert state["e"]["pid"] == before["e"]
    assert "d [trigger] process is not running (exited while godpy was down)" in run.text()
    assert [len(started(tmp_path, n)) for n in "abcde"] == [1, 1, 2, 2, 1]
    assert run.terminate() == 0


def test_terminate_then_start_keeps_a_stopped_watch_stopped(tmp_path, godpy_run, pids, again):
    """`godpy terminate` stops every process but no one's intent: on the next start the
    monitored watches start, the stopped one does not."""
    text = config(tmp_path, watch(tmp_path, "a"), watch(tmp_path, "b"))
    run = godpy_run(text)
    pids.add(live_pid(tmp_path, "a"))
    pids.add(live_pid(tmp_path, "b"))
    assert cli("stop", "a", socket=run.socket).returncode == 0
    assert run.terminate() == 0
    run = again(run, text)
    wait_until(lambda: len(started(tmp_path, "b")) == 2, what="b started again")
    pids.add(live_pid(tmp_path, "b"))
    assert rows(run)["a"]["state"] == "unmonitored"
    assert len(started(tmp_path, "a")) == 1
    assert run.terminate() == 0


def test_a_reused_pid_is_not_adopted(tmp_path, godpy_run, pids, again):
    """The state file names a pid that now belongs to an unrelated process (same number,
    other start time): it is left alone and the watch starts its own."""
    text = config(tmp_path, watch(tmp_path, "a"))
    run = godpy_run(text)
    pids.add(live_pid(tmp_path, "a"))
    assert run.terminate() == 0
    stranger = subprocess.Popen(["sleep", "300"], start_new_session=True)
    pids.add(stranger.pid)
    path = tmp_path / "ctl-0" / "godpy.state"
    data = json.loads(path.read_text())
    data["tasks"]["a"].update(pid=stranger.pid, start_ticks=1)  # the old process's start
    path.write_text(json.dumps(data))
    run = again(run, text)
    wait_until(lambda: len(started(tmp_path, "a")) == 2, what="a started anew")
    assert rows(run)["a"]["pid"] != stranger.pid
    assert run.terminate() == 0
    assert alive(stranger.pid)


def test_a_corrupt_state_file_is_logged_and_ignored(tmp_path, godpy_run, pids):
    """Garbage in the state file: a warning, and the config's defaults apply."""
    text = config(tmp_path, watch(tmp_path, "a"))
    (tmp_path / "ctl-0").mkdir(mode=0o700)
    state = tmp_path / "ctl-0" / "godpy.state"
    state.write_text("{not json")
    os.chmod(state, 0o600)
    run = godpy_run(text)
    pids.add(live_pid(tmp_path, "a"))
    assert f"state file {state} ignored: unreadable" in run.text()
    assert run.terminate() == 0


def test_watches_gone_from_the_config_are_dropped_from_the_state(tmp_path, godpy_run, pids, again):
    """A state file from a config that has since changed: only today's watches carry on."""
    run = godpy_run(config(tmp_path, watch(tmp_path, "a"), watch(tmp_path, "old")))
    pids.add(live_pid(tmp_path, "a"))
    pids.add(live_pid(tmp_path, "old"))
    assert cli("stop", "a", socket=run.socket).returncode == 0
    assert run.terminate() == 0
    run = again(run, config(tmp_path, watch(tmp_path, "a"), watch(tmp_path, "new")))
    pids.add(live_pid(tmp_path, "new"))
    run.wait_log("state file: dropped old (no longer in the config)")
    assert rows(run)["a"]["state"] == "unmonitored"
    path = tmp_path / "ctl-0" / "godpy.state"
    wait_until(lambda: sorted(json.loads(path.read_text())["tasks"]) == ["a", "new"])
    assert run.terminate() == 0


FLAPPER = """with God.watch() as w:
    w.name = "flapper"
    w.start = "sh -c 'exit 1'"
    w.keepalive(restart_delay=0)
    with w.lifecycle() as on:
        on.condition("flapping", to_state="start", times=3, within=60,
                     transition="unmonitored", retry_in=600)
"""


def test_reload_changes_only_what_changed(tmp_path, godpy_run, pids):
    """One unchanged (its pending flapping retry kept), one with a new condition (updated,
    same process), one with a new command (restarted once), one new (added), one dropped
    (stopped)."""
    same, cond, cmd, gone = "same", "cond", "cmd", "gone"
    first = config(
        tmp_path, FLAPPER, watch(tmp_path, same), watch(tmp_path, cond), watch(tmp_path, cmd),
        watch(tmp_path, gone),
    )  # fmt: skip
    run = godpy_run(first)
    before = {n: pids.add(live_pid(tmp_path, n)) for n in (same, cond, cmd, gone)}
    run.wait_log("auto-reenable monitoring in 600 seconds")
    second = config(
        tmp_path, FLAPPER, watch(tmp_path, same),
        watch(tmp_path, cond, lines=("with w.restart_if() as on:",
                                     '    on.condition("memory_usage", above="4GB", interval=30)')),
        watch(tmp_path, cmd, args=("--after", "1")), watch(tmp_path, "fresh"),
    )  # fmt: skip
    path = tmp_path / "second.god.py"
    path.write_text(second)
    result = cli("load", path, "stop", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        f"Loaded {path}\n  cmd: restarted\n  cond: updated\n  flapper: unchanged\n"
        "  fresh: added\n  gone: stopped\n  same: unchanged\n",
    ), result
    pids.add(live_pid(tmp_path, "fresh"))
    new_cmd = pids.add(
        wait_until(lambda: live_pid(tmp_path, cmd) != before[cmd] and live_pid(tmp_path, cmd))
    )
    now = rows(run)
    assert now[same]["pid"] == before[same] and now[cond]["pid"] == before[cond]
    assert now[cmd]["pid"] == new_cmd and not alive(before[cmd]) and not alive(before[gone])
    assert [len(started(tmp_path, n)) for n in (same, cond, cmd)] == [1, 1, 2]
    assert now["flapper"]["state"] == "unmonitored"
    assert "retry in" in now["flapper"]["reason"], now["flapper"]
    assert "flapper cancelled" not in run.text()
    assert run.terminate() == 0


def test_a_stop_cut_short_by_kill_9_is_finished_by_the_next_godpy(tmp_path, godpy_run, pids, again):
    """kill -9 of the daemon while it waits for a TERM-ignoring process to stop: the next
    godpy finishes the stop (the operator asked for it) instead of leaving it running."""
    lines = ("w.stop_timeout = 3",)
    text = config(tmp_path, watch(tmp_path, "stubborn", args=("--ignore-term",), lines=lines))
    run = godpy_run(text)
    old = pids.add(live_pid(tmp_path, "stubborn"))
    assert cli("stop", "stubborn", "--no-wait", socket=run.socket).returncode == 0
    wait_until(lambda: rows(run)["stubborn"]["action"] == "stopping")
    wait_until(lambda: saved(tmp_path, "stubborn")["intent"] == "stopped")
    kill_daemon(run)
    run = again(run, text)
    wait_until(lambda: not alive(old), 15, what="the interrupted stop finished")
    row = rows(run)["stubborn"]
    assert (row["state"], row["pid"]) == ("unmonitored", None)
    assert row["reason"].startswith("stopped by the operator")
    assert len(started(tmp_path, "stubborn")) == 1
    assert run.terminate() == 0


def test_a_process_run_with_settings_since_changed_is_restarted(tmp_path, godpy_run, pids, again):
    """The config changed while godpy was down (another start command): the process the
    last godpy ran with the old settings is restarted once with the new ones."""
    run = godpy_run(config(tmp_path, watch(tmp_path, "a")))
    old = pids.add(live_pid(tmp_path, "a"))
    wait_until(lambda: saved(tmp_path, "a")["pid"] == old)
    kill_daemon(run)
    run = again(run, config(tmp_path, watch(tmp_path, "a", args=("--after", "1"))))
    new = pids.add(wait_until(lambda: live_pid(tmp_path, "a") != old and live_pid(tmp_path, "a")))
    assert not alive(old) and rows(run)["a"]["pid"] == new
    assert "its process was run with other settings before godpy went down" in run.text()
    assert run.terminate() == 0


def test_terminate_and_start_again_is_not_counted_as_a_restart(tmp_path, godpy_run, pids, again):
    """A planned restart of godpy starts every process again, but no watch's `restarts`
    goes up for it (an alert on restarts would fire for every watch)."""
    text = config(tmp_path, watch(tmp_path, "a"))
    run = godpy_run(text)
    pids.add(live_pid(tmp_path, "a"))
    assert run.terminate() == 0
    run = again(run, text)
    wait_until(lambda: len(started(tmp_path, "a")) == 2)
    pids.add(live_pid(tmp_path, "a"))
    assert rows(run)["a"]["restarts"] == 0
    assert run.terminate() == 0


def test_a_pending_flapping_retry_and_its_reason_survive_kill_9(tmp_path, godpy_run, again):
    """Flapping unmonitored the watch with a retry in 10 minutes: after kill -9 of the
    daemon the next one still says why, and still plans the retry."""
    text = config(tmp_path, FLAPPER)
    run = godpy_run(text)
    run.wait_log("auto-reenable monitoring in 600 seconds")
    wait_until(lambda: saved(tmp_path, "flapper")["retry_at"])
    kill_daemon(run)
    run = again(run, text)
    row = wait_until(lambda: (r := rows(run)["flapper"])["next_start_in"] and r)
    assert row["state"] == "unmonitored"
    assert row["reason"].startswith("flapping: process is flapping")
    assert "retry in 9m" in row["reason"] or "retry in 10m" in row["reason"]
    assert 500 < row["next_start_in"] <= 600
    assert run.terminate() == 0


def test_terminate_keeps_a_pending_flapping_retry(tmp_path, godpy_run, again):
    """`godpy terminate` cancels the retry timer with everything else, but the next godpy
    still retries at the same time, and says why meanwhile."""
    text = config(tmp_path, FLAPPER)
    run = godpy_run(text)
    run.wait_log("auto-reenable monitoring in 600 seconds")
    assert run.terminate() == 0
    assert saved(tmp_path, "flapper")["retry_at"]
    run = again(run, text)
    row = wait_until(lambda: (r := rows(run)["flapper"])["next_start_in"] and r)
    assert row["reason"].startswith("flapping: process is flapping")
    assert 500 < row["next_start_in"] <= 600
    assert run.terminate() == 0
