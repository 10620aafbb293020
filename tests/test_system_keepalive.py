"""A real daemon keeps real processes alive: restarts on exit, stops everything on SIGTERM."""

import json
import os
import re
import signal
import subprocess
import sys

from conftest import GODPY, PROBE, alive, needs_root, read_lines, read_pid, wait_until


def _config(tmp_path, n=2, extra="", probe_args="", interval=30, keepalive=""):
    return f"""
import sys
from godpy import God
God.pid_file_directory = {str(tmp_path / "pids")!r}
for n in range({n}):
    with God.watch() as w:
        w.name = f"probe-{{n}}"
        w.group = "probes"
        w.start = [sys.executable, {PROBE!r}, {str(tmp_path)!r} + f"/probe-{{n}}.rec"{probe_args}]
        w.interval = {interval}
{extra}
        w.keepalive({keepalive})
"""


def _pid(tmp_path, n):
    return read_pid(tmp_path / "pids" / f"probe-{n}.pid")


def _ready(tmp_path, n):
    """Wait until probe n has installed its signal handlers (it records 'start')."""
    wait_until(lambda: any(x.startswith("start") for x in read_lines(tmp_path / f"probe-{n}.rec")))


def _zombies_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[0] == "Z" and int(stat[1]) == pid:
                out.append(int(entry))
    return out


@needs_root
def test_kill_9_is_restarted_by_the_exit_event(tmp_path, godpy_run, pids):
    """kill -9 of a watched process: the exit event restarts it, long before the 30 s poll."""
    run = godpy_run(_config(tmp_path), "--log-level", "debug")
    run.wait_log("events: using netlink")
    old = wait_until(lambda: _pid(tmp_path, 0) and alive(_pid(tmp_path, 0)) and _pid(tmp_path, 0))
    pids.add(old)
    # killed once its exit is registered (a kill just before gives "process is not running")
    run.wait_log(f"probe-0 registered 'proc_exit' event for pid {old}")
    os.kill(old, signal.SIGKILL)
    new = wait_until(lambda: _pid(tmp_path, 0) not in (None, old) and _pid(tmp_path, 0))
    pids.add(new)
    wait_until(lambda: alive(new))
    # the exit event, or (on a busy machine) the SIGCHLD that makes the watch check at once,
    # whichever the driver serves first: both say how it died, neither waits for the poll
    wait_until(
        lambda: re.search(r"probe-0 \[trigger\] process .*killed by SIGKILL", run.text()),
        what=f"the trigger line of the kill:\n{run.text()[-3000:]}",
    )
    assert not _zombies_of(run.proc.pid)
    out = subprocess.run(
        [GODPY, "status", "probe-0", "--json", "--socket", run.socket],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert json.loads(out.stdout)[0]["restarts"] == 1, out.stdout + out.stderr
    assert run.terminate() == 0


def test_polling_restarts_when_events_are_off(tmp_path, godpy_run, pids):
    """With --no-events the process_running poll restarts a killed process."""
    run = godpy_run(_config(tmp_path, n=1, interval=0.2), "--no-events")
    old = wait_until(lambda: _pid(tmp_path, 0))
    pids.add(old)
    run.wait_log("probe-0 move 'start' to 'up'")
    wait_until(lambda: alive(old))
    os.kill(old, signal.SIGKILL)
    new = wait_until(lambda: _pid(tmp_path, 0) not in (None, old) and _pid(tmp_path, 0))
    pids.add(new)
    assert "ProcessExits" not in run.text()
    assert run.terminate() == 0


def test_sigterm_stops_every_watch_and_exits_0(tmp_path, godpy_run, pids):
    """SIGTERM: every watched process gets SIGTERM, is reaped, and the daemon exits 0."""
    run = godpy_run(_config(tmp_path, n=3))
    started = [wait_until(lambda n=n: _pid(tmp_path, n)) for n in range(3)]
    for pid in started:
        pids.add(pid)
    for n in range(3):
        _ready(tmp_path, n)
    assert run.terminate() == 0
    for n, pid in enumerate(started):
        assert not alive(pid)
        assert "signal SIGTERM" in read_lines(tmp_path / f"probe-{n}.rec")
        assert not (tmp_path / "pids" / f"probe-{n}.pid").exists()


def test_watches_ignoring_sigterm_are_killed_in_parallel(tmp_path, godpy_run, pids):
    """Four watches that ignore SIGTERM all get SIGKILL after stop_timeout; exit 0."""
    cfg = _config(tmp_path, n=4, probe_args=', "--ignore-term"', extra="        w.stop_timeout = 1")
    run = godpy_run(cfg)
    started = [wait_until(lambda n=n: _pid(tmp_path, n)) for n in range(4)]
    for pid in started:
        pids.add(pid)
    for n in range(4):
        _ready(tmp_path, n)
    assert run.terminate() == 0
    assert run.text().count("still alive after 1s; sent SIGKILL") == 4
    assert not any(alive(pid) for pid in started)


def test_grandchild_in_the_group_does_not_survive_stop(tmp_path, godpy_run, pids):
    """A grandchild that ignores SIGTERM dies with its parent's group (supervisor #1101)."""
    cfg = _config(tmp_path, n=1, probe_args=', "--spawn-child"', extra="        w.stop_timeout = 1")
    run = godpy_run(cfg)
    rec = tmp_path / "probe-0.rec"
    line = wait_until(lambda: [x for x in read_lines(rec) if x.startswith("child ")])
    grandchild = pids.add(int(line[0].split()[1]))
    assert run.terminate() == 0
    wait_until(lambda: not alive(grandchild))


def test_running_process_is_adopted_not_duplicated(tmp_path, godpy_run, pids):
    """A process already running under its pid file is adopted: init -> up, no second copy."""
    import subprocess

    (tmp_path / "pids").mkdir()
    rec = tmp_path / "probe-0.rec"
    pre = subprocess.Popen([sys.executable, PROBE, str(rec)], start_new_session=True)
    pids.add(pre.pid)
    wait_until(lambda: read_lines(rec))
    (tmp_path / "pids" / "probe-0.pid").write_text(str(pre.pid))
    run = godpy_run(_config(tmp_path, n=1, interval=0.2), "--no-events")
    run.wait_log("probe-0 move 'init' to 'up'")
    run.wait_log("probe-0 [ok]", timeout=5) if "[ok]" in run.text() else None
    assert [x for x in read_lines(rec) if x.startswith("start")] == [f"start {pre.pid}"]
    assert run.terminate() == 0
    pre.wait(10)
    assert "signal SIGTERM" in read_lines(rec)


def test_memory_limit_restarts_after_3_of_5_readings(tmp_path, godpy_run, pids):
    """keepalive(memory_max=) restarts a process that stays above the limit 3 times."""
    cfg = _config(
        tmp_path,
        n=1,
        interval=0.1,
        probe_args=', "--grow-mb", "80"',
        keepalive='memory_max="40MB"',
    )
    run = godpy_run(cfg)
    first = wait_until(lambda: _pid(tmp_path, 0))
    pids.add(first)
    run.wait_log("probe-0 [trigger] memory out of bounds")
    new = wait_until(lambda: _pid(tmp_path, 0) not in (None, first) and _pid(tmp_path, 0))
    pids.add(new)
    text = run.text()
    assert "probe-0 move 'up' to 'restart'" in text
    line = next(x for x in text.splitlines() if "memory out of bounds" in x)
    assert line.count("*") >= 3
    assert run.terminate() == 0
