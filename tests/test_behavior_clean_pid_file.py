"""clean_pid_file: a stale pid file is deleted before start, so the daemon can start."""

import pytest
from behavior_helpers import make_watch
from conftest import alive, read_pid

from godpy.errors import AttributeProblem
from godpy.task import Task

# A self-daemonizing server that refuses to start while its pid file exists.
REFUSES_STALE = "[ -e {pid} ] && exit 1; sleep 30 >/dev/null 2>&1 & echo $! > {pid}"


@pytest.mark.integration
def test_stale_pid_file_is_deleted_and_the_daemon_starts(tmp_path, pids, godlog):
    """With clean_pid_file a leftover pid file no longer blocks the start."""
    pid_file = tmp_path / "app.pid"
    pid_file.write_text("999999\n")
    start = REFUSES_STALE.format(pid=pid_file)
    w = make_watch(tmp_path, pids, start, [("clean_pid_file", {})], pid_file=str(pid_file))
    w.action("start")
    pid = read_pid(pid_file)
    pids.add(pid)
    assert pid != 999999 and alive(pid)
    assert w.pid == pid
    assert f"app before_start: deleted pid file {pid_file} (CleanPidFile)" in godlog.text


@pytest.mark.integration
def test_without_the_behavior_the_stale_file_blocks_the_start(tmp_path, pids):
    """The same start without clean_pid_file fails: the behavior is what made it work."""
    pid_file = tmp_path / "app.pid"
    pid_file.write_text("999999\n")
    w = make_watch(tmp_path, pids, REFUSES_STALE.format(pid=pid_file), pid_file=str(pid_file))
    w.action("start")
    assert w.pid is None
    assert read_pid(pid_file) == 999999


@pytest.mark.integration
def test_no_pid_file_is_reported_and_godpys_own_file_is_used(tmp_path, pids, godlog):
    """For a child godpy keeps, its own <dir>/<name>.pid is the file cleaned."""
    w = make_watch(tmp_path, pids, "sleep 30", [("clean_pid_file", {})])
    w.action("start")
    assert read_pid(tmp_path / "app.pid") == w.pid
    assert f"no pid file to delete ({tmp_path}/app.pid)" in godlog.text
    w.action("stop")


def test_invalid_configuration_messages():
    """On a task without a process, and with an unknown attribute."""
    t = Task(name="t", valid_states=["a"], initial_state="a")
    t.behavior("clean_pid_file")
    assert t.valid() == [
        "task 't': behavior clean_pid_file: needs a watch; task 't' has no process"
    ]
    with pytest.raises(
        AttributeProblem, match="unknown attribute 'path' for behavior clean_pid_file"
    ):
        t.behavior("clean_pid_file", path="/tmp/x.pid")
