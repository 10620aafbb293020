"""Commands and status that tell the truth: exit codes a deploy script or a health check
can trust, with the reason and where to look (real daemon, real CLI)."""

import json

import pytest
from cli_helpers import FILE_TASK, cli, config, kill_probes, live_pid, start_daemon, watch

pytestmark = pytest.mark.system


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


NOBIN = """with God.watch() as w:
    w.name = "nobin"
    w.start = "/nonexistent/bin/worker"
    w.autostart = False
    w.keepalive()
"""


def test_start_of_a_missing_binary_exits_1_with_the_reason(tmp_path, godpy_run):
    """`godpy start nobin`: exit 1, the error, and `godpy log nobin` as where to look."""
    run = start_daemon(godpy_run, config(tmp_path, NOBIN))
    result = cli("start", "nobin", socket=run.socket)
    assert result.returncode == 1, result
    assert result.stdout.startswith("Sending 'start' command to: nobin\n  nobin: start  ")
    assert "failed to start: [Errno 2] No such file or directory" in result.stdout
    assert result.stdout.endswith("(see: godpy log nobin)\n")
    assert result.stderr == "godpy: not up: nobin\n"


def test_restart_of_a_crash_loop_exits_1(tmp_path, godpy_run):
    """A program that dies at once: `restart` reports it, exit 1, not `up`."""
    crash = watch(tmp_path, "crash", args=("--exit", "3"), keepalive='restart_delay="1s"')
    run = start_daemon(godpy_run, config(tmp_path, crash))
    result = cli("restart", "crash", socket=run.socket)
    assert result.returncode == 1, result
    assert "exited with code 3 after" in result.stdout


def test_start_of_a_healthy_group_exits_0_per_watch(tmp_path, godpy_run, pids):
    """A group that comes up: each watch listed as up, exit 0."""
    text = config(tmp_path, watch(tmp_path, "a", group="g"), watch(tmp_path, "b", group="g"))
    run = start_daemon(godpy_run, text)
    for name in ("a", "b"):
        pids.add(live_pid(tmp_path, name))
    result = cli("restart", "g", socket=run.socket)
    assert (result.returncode, result.stdout) == (
        0,
        "Sending 'restart' command to: a, b\n  a: up\n  b: up\n",
    )
    for name in ("a", "b"):
        pids.add(live_pid(tmp_path, name))


def test_no_wait_returns_once_queued(tmp_path, godpy_run):
    """--no-wait: exit 0 as soon as the command is queued, whatever happens next."""
    run = start_daemon(godpy_run, config(tmp_path, NOBIN))
    result = cli("start", "nobin", "--no-wait", socket=run.socket)
    assert (result.returncode, result.stdout) == (0, "Sending 'start' command to: nobin\n")


def test_status_is_a_health_check_with_a_task_in_the_config(tmp_path, godpy_run, pids):
    """A generic task never makes status fail; it is listed as a task."""
    text = config(tmp_path, watch(tmp_path, "web"), FILE_TASK.format(path=str(tmp_path / "f")))
    run = start_daemon(godpy_run, text)
    pids.add(live_pid(tmp_path, "web"))
    result = cli("status", socket=run.socket)
    assert result.returncode == 0, result
    assert "tidy:  watching  task\n" in result.stdout
    rows = {r["name"]: r for r in json.loads(cli("status", "--json", socket=run.socket).stdout)}
    assert (rows["tidy"]["kind"], rows["web"]["kind"]) == ("task", "watch")


def test_status_of_a_backing_off_watch_exits_3_with_reason_and_next_start(tmp_path, godpy_run):
    """A crash-looping watch: exit 3, its reason and next_start_in in --json."""
    crash = watch(tmp_path, "crash", args=("--exit", "3"), keepalive='restart_delay="5s"')
    run = start_daemon(godpy_run, config(tmp_path, crash))
    run.wait_log("starting again in 5s")
    result = cli("status", "crash", "--json", socket=run.socket)
    assert result.returncode == 3
    (row,) = json.loads(result.stdout)
    assert row["state"] == "start" and row["pid"] is None
    assert row["reason"].startswith("exited with code 3 after")
    assert 0 < row["next_start_in"] <= 5
    table = cli("status", "crash", socket=run.socket).stdout
    assert "next start in " in table
