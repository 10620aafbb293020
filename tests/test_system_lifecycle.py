"""Keepalive with real processes: crash loops back off and never stall, failed watches,
whole-group cleanup, stopped processes, USR2 upgrades of self-daemonizing servers."""

import json
import os
import signal
import sys

import pytest
from cli_helpers import cli, config, kill_probes, live_pid, pid_of, started, watch
from conftest import HERE, alive, needs_root, read_lines, read_pid, wait_until

pytestmark = pytest.mark.system
UPGRADER = os.path.join(HERE, "upgrader.py")


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


def status(run, name):
    """The ``status --json`` row of one watch."""
    result = cli("status", name, "--json", socket=run.socket)
    return json.loads(result.stdout)[0]


def ignores_term(pid):
    """True once ``pid`` ignores SIGTERM (its SigIgn mask in /proc)."""
    with open(f"/proc/{pid}/status") as fh:
        mask = next(line for line in fh if line.startswith("SigIgn:")).split()[1]
    return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))


def grandchild(tmp_path, name):
    """The pid of the grandchild a ``--spawn-child`` probe recorded, once it ignores TERM."""
    rec = tmp_path / f"{name}.rec"
    line = wait_until(lambda: [x for x in read_lines(rec) if x.startswith("child ")])
    pid = int(line[-1].split()[1])
    wait_until(lambda: ignores_term(pid), what=f"grandchild {pid} ignoring TERM")
    return pid


@pytest.mark.parametrize("events", [True, False], ids=["events", "no-events"])
def test_crash_loops_restart_again_and_again_and_never_stall(tmp_path, godpy_run, events):
    """Five programs that die at once are each started again and again, with the backoff,
    with and without exit events (the bug: a start that did not come up stalled in start)."""
    crashers = [
        watch(
            tmp_path,
            f"crash-{n}",
            args=("--exit", "3"),
            keepalive='restart_delay="20ms", restart_delay_max="200ms"',
        )
        for n in range(5)
    ]
    run = godpy_run(config(tmp_path, *crashers), *([] if events else ["--no-events"]))
    for n in range(5):
        wait_until(lambda n=n: len(started(tmp_path, f"crash-{n}")) >= 6, 30, what=f"crash-{n}")
    row = status(run, "crash-0")
    assert row["state"] in ("start", "up", "down"), row  # wherever the loop is now
    assert row["restarts"] >= 5
    assert run.terminate() == 0


def test_missing_binary_shows_its_error_and_keeps_trying(tmp_path, godpy_run):
    """A start command whose binary is missing: status gives the error and the next start."""
    text = config(
        tmp_path,
        "with God.watch() as w:\n"
        "    w.name = 'nobin'\n"
        "    w.start = '/nonexistent/bin/worker --serve'\n"
        "    w.keepalive(restart_delay='50ms', restart_delay_max='50ms')\n",
    )
    run = godpy_run(text)
    run.wait_log("nobin start failed", count=3)
    row = status(run, "nobin")
    assert row["state"] == "start"
    assert row["reason"] == (
        "failed to start: [Errno 2] No such file or directory: '/nonexistent/bin/worker'"
    )
    assert row["next_start_in"] is None or 0 <= row["next_start_in"] <= 0.05
    assert run.terminate() == 0


def test_start_retries_reaches_failed_notifies_and_start_rearms(tmp_path, godpy_run):
    """start_retries=2: two quick deaths, state failed with the reason, the contact told;
    `godpy start` tries again."""
    told = tmp_path / "told.jsonl"
    text = config(
        tmp_path,
        watch(
            tmp_path,
            "capped",
            args=("--exit", "3"),
            keepalive='restart_delay="10ms", start_retries=2, notify="ops"',
        ),
        f"with God.contact('log') as c:\n    c.name = 'ops'\n    c.path = {str(told)!r}\n",
    )
    run = godpy_run(text)
    run.wait_log("capped landed in 'failed'")
    row = status(run, "capped")
    assert row["state"] == "failed"
    assert row["reason"].startswith("gave up after 2 quick death(s) in a row: exited with code 3")
    assert len(started(tmp_path, "capped")) == 2
    message = json.loads(wait_until(lambda: told.read_text().strip(), what="notification"))
    assert message["watch"] == "capped" and "capped failed: gave up" in message["message"]
    cli("start", "capped", socket=run.socket)
    wait_until(lambda: len(started(tmp_path, "capped")) >= 3, what="a third start")
    assert run.terminate() == 0


@needs_root
def test_leftover_group_is_cleaned_up_before_the_next_start(tmp_path, godpy_run, pids):
    """kill -9 of the leader: its orphan (which ignores TERM) is killed before the new
    start, as nginx's workers must be for the new master to bind its port."""
    lines = ("w.stop_timeout = 0.5",)
    run = godpy_run(config(tmp_path, watch(tmp_path, "web", args=("--spawn-child",), lines=lines)))
    leader = pids.add(live_pid(tmp_path, "web"))
    orphan = pids.add(grandchild(tmp_path, "web"))
    os.kill(leader, signal.SIGKILL)
    wait_until(lambda: len(started(tmp_path, "web")) == 2, what="a new leader")
    pids.add(pid_of(tmp_path, "web"))
    assert not alive(orphan)
    text = run.text()
    assert f"cleaning up what is left of process group {leader}" in text
    assert text.index("still alive after 0.5s; sent SIGKILL") < text.rindex("web start:")
    assert run.terminate() == 0


@needs_root
def test_kill_mode_process_leaves_the_group_alone(tmp_path, godpy_run, pids):
    """kill_mode = "process": the leader's death leaves its children running."""
    lines = ('w.kill_mode = "process"',)
    godpy_run(config(tmp_path, watch(tmp_path, "web", args=("--spawn-child",), lines=lines)))
    leader = pids.add(live_pid(tmp_path, "web"))
    orphan = pids.add(grandchild(tmp_path, "web"))
    os.kill(leader, signal.SIGKILL)
    wait_until(lambda: len(started(tmp_path, "web")) == 2, what="a new leader")
    assert alive(orphan)


def test_stop_with_a_dead_leader_stops_the_rest_of_the_group(tmp_path, godpy_run, pids):
    """`godpy stop` after the leader died unwatched: the group's survivors are stopped."""
    lines = ("w.stop_timeout = 0.5",)
    run = godpy_run(config(tmp_path, watch(tmp_path, "web", args=("--spawn-child",), lines=lines)))
    leader = pids.add(live_pid(tmp_path, "web"))
    orphan = pids.add(grandchild(tmp_path, "web"))
    assert cli("unmonitor", "web", socket=run.socket).returncode == 0
    os.kill(leader, signal.SIGKILL)
    wait_until(lambda: not alive(leader))
    assert cli("stop", "web", socket=run.socket).returncode == 0
    assert not alive(orphan)
    assert f"process group {leader} still alive after 0.5s; sent SIGKILL" in run.text()


def test_sigstopped_process_acts_on_term_at_once(tmp_path, godpy_run, pids):
    """A SIGSTOPped process gets SIGCONT after TERM: it exits on TERM, no SIGKILL needed
    (stop_timeout is 20 s)."""
    run = godpy_run(config(tmp_path, watch(tmp_path, "frozen", lines=("w.stop_timeout = 20",))))
    pid = pids.add(live_pid(tmp_path, "frozen"))
    os.kill(pid, signal.SIGSTOP)
    assert cli("stop", "frozen", socket=run.socket).returncode == 0
    assert not alive(pid)
    assert "signal SIGTERM" in read_lines(tmp_path / "frozen.rec")
    assert "SIGKILL" not in run.text()


def _upgrader_masters(rec):
    return [int(x.split()[1]) for x in read_lines(rec) if x.startswith("master ")]


def test_usr2_upgrade_is_adopted_and_nothing_is_started(tmp_path, godpy_run, pids):
    """A self-daemonizing server upgrades itself (USR2: new master beside the old, TERM the
    old): the pid file still names the dead master for a moment; godpy waits for it to
    name the new one and adopts it, starting no duplicate."""
    rec, pidfile = tmp_path / "up.rec", tmp_path / "up.pid"
    text = config(
        tmp_path,
        "with God.watch() as w:\n"
        "    w.name = 'up'\n"
        f"    w.start = [sys.executable, {UPGRADER!r}, {str(rec)!r}, {str(pidfile)!r}]\n"
        f"    w.pid_file = {str(pidfile)!r}\n"
        "    w.behavior('clean_pid_file')\n"
        "    w.keepalive(interval=1)\n",
    )
    run = godpy_run(text)
    try:
        old = wait_until(lambda: _upgrader_masters(rec))[0]
        wait_until(lambda: status(run, "up")["pid"] == old, what="old master up")
        os.kill(old, signal.SIGUSR2)
        new = wait_until(lambda: _upgrader_masters(rec)[1:])[0]
        os.kill(old, signal.SIGTERM)
        wait_until(lambda: status(run, "up")["pid"] == new, 15, what="new master adopted")
        assert _upgrader_masters(rec) == [old, new]
        assert read_pid(pidfile) == new
        assert f"adopted pid {new} from {pidfile}" in run.text()
        assert run.terminate() == 0
        assert not alive(new)
    finally:
        for pid in _upgrader_masters(rec):
            pids.add(pid)


def test_unmonitored_child_is_reaped_without_a_driver_poll(tmp_path, godpy_run, pids):
    """A watched child that dies while unmonitored leaves no zombie (SIGCHLD reaps it)."""
    run = godpy_run(config(tmp_path, watch(tmp_path, "solo")))
    pid = pids.add(live_pid(tmp_path, "solo"))
    assert cli("unmonitor", "solo", socket=run.socket).returncode == 0
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), what=f"pid {pid} reaped")
    assert run.terminate() == 0


assert sys.executable  # the configs above run probes with this interpreter
