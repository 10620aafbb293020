"""depends_on in a running daemon, with real processes: a database that takes a second
to come up, and apps that depend on it. Order is judged by the timestamps the programs
write themselves, never by how long a command took."""

import json
import os
import signal
import sys

import pytest
from cli_helpers import HEAD, cli, kill_probes, start_daemon
from conftest import alive, read_lines, read_pid, wait_until

pytestmark = pytest.mark.system

#: What both programs do first: records ``start``; ``note(what)`` records a line (ending
#: with the time), and SIGTERM records ``stop``.
RECORDING = """\
import os, signal, sys, time
record = sys.argv[1]
def note(what):
    with open(record, "a") as fh:
        fh.write(f"{what} {os.getpid()} {time.time():.6f}\\n")
def stop(*_):
    note("stop")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
note("start")
"""

#: The database: one second after its start, writes its pid to its ready file and records
#: ``ready``.
DB = (
    RECORDING
    + """\
ready = sys.argv[2]
time.sleep(1)
with open(ready + ".tmp", "w") as fh:
    fh.write(str(os.getpid()))
os.rename(ready + ".tmp", ready)
note("ready")
while True:
    time.sleep(60)
"""
)

#: An app: records ``start`` and ``stop`` with the time.
APP = (
    RECORDING
    + """\
while True:
    time.sleep(60)
"""
)


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


def _config(tmp_path, *apps):
    """db (up once its ready file names its own pid) and each app of ``apps``:
    (name, extra config lines), all depending on db."""
    (tmp_path / "db.py").write_text(DB)
    (tmp_path / "app.py").write_text(APP)
    ready, pid_file = tmp_path / "db.ready", tmp_path / "pids" / "db.pid"
    text = HEAD.format(pids=str(tmp_path / "pids"))
    text += f"""
def db_ready():
    try:
        return open({str(ready)!r}).read() == open({str(pid_file)!r}).read().strip()
    except OSError:
        return False

with God.watch() as w:
    w.name = "db"
    w.start = [sys.executable, {str(tmp_path / "db.py")!r}, {str(tmp_path / "db.rec")!r},
               {str(ready)!r}]
    w.keepalive(interval=0.1)
    with w.transition(["start", "restart"], "up") as on:
        on.condition("lambda", lambda_=db_ready)
"""
    for name, lines in apps:
        argv = [sys.executable, str(tmp_path / "app.py"), str(tmp_path / f"{name}.rec")]
        body = "".join(f"    {line}\n" for line in lines)
        text += (
            f"\nwith God.watch() as w:\n    w.name = {name!r}\n    w.start = {argv!r}\n"
            f"    w.depends_on = 'db'\n{body}    w.keepalive(interval=0.5)\n"
        )
    return text


def _events(tmp_path, name):
    """(what, pid, time) for each line watch ``name``'s program wrote."""
    rows = [line.split() for line in read_lines(tmp_path / f"{name}.rec")]
    return [(what, int(pid), float(at)) for what, pid, at in rows]


def _times(tmp_path, name, what, count=1):
    """The times of the ``what`` lines of ``name``'s program, once there are ``count``
    (a program may be up a moment before it has written its line)."""

    def lines():
        found = [at for kind, _pid, at in _events(tmp_path, name) if kind == what]
        return len(found) >= count and found

    return wait_until(lines, what=f"{count} {what} line(s) of {name}")


def _rows(socket):
    return {r["name"]: r for r in json.loads(cli("status", "--json", socket=socket).stdout)}


def _all_up(socket):
    rows = _rows(socket)
    return all(r["state"] == "up" and r["ready"] for r in rows.values()) and rows


@pytest.fixture
def shop(tmp_path, godpy_run):
    """A daemon with db and app (depends on db), both up."""
    run = start_daemon(godpy_run, _config(tmp_path, ("app", [])))
    wait_until(lambda: _all_up(run.socket), 20, what="db and app up")
    return run


def test_app_starts_only_after_the_database_is_ready(tmp_path, shop):
    """At the daemon's start, app is held ('waiting for db') and starts after db wrote
    its ready file; status lists depends_on and ready."""
    assert _times(tmp_path, "app", "start")[0] >= _times(tmp_path, "db", "ready")[0]
    assert "app waiting for db before starting" in shop.text()
    rows = _rows(shop.socket)
    assert (rows["app"]["depends_on"], rows["app"]["ready"]) == (["db"], True)
    assert (rows["db"]["depends_on"], rows["db"]["ready"]) == ([], True)


def test_stop_db_stops_app_first(tmp_path, shop):
    """`stop db`: app's program is stopped before db's; both end unmonitored."""
    out = cli("stop", "db", socket=shop.socket)
    assert (out.returncode, out.stdout) == (
        0,
        "Sending 'stop' command to: app, db\n  app: unmonitored\n  db: unmonitored\n",
    )
    assert _times(tmp_path, "app", "stop")[0] <= _times(tmp_path, "db", "stop")[0]


def test_start_app_starts_the_database_first_and_waits_for_it(tmp_path, shop):
    """After `stop db`, `start app` starts db too, returns once both are up, and app's
    new program started after db's new one was ready."""
    assert cli("stop", "db", socket=shop.socket).returncode == 0
    out = cli("start", "app", socket=shop.socket)
    assert (out.returncode, out.stdout) == (
        0,
        "Sending 'start' command to: app, db\n  app: up\n  db: up\n",
    )
    assert _times(tmp_path, "app", "start", 2)[1] >= _times(tmp_path, "db", "ready", 2)[1]
    assert all(r["state"] == "up" for r in _rows(shop.socket).values())


def test_restart_db_stops_app_first_and_starts_it_once_db_is_ready(tmp_path, shop):
    """`restart db`: app stops before db does, and starts again after db is ready."""
    out = cli("restart", "db", socket=shop.socket)
    assert out.returncode == 0, out.stdout + out.stderr
    assert _times(tmp_path, "app", "stop")[0] <= _times(tmp_path, "db", "stop")[0]
    assert _times(tmp_path, "app", "start", 2)[1] >= _times(tmp_path, "db", "ready", 2)[1]


def test_a_crash_of_db_restarts_only_the_apps_that_ask_for_it(tmp_path, godpy_run, pids):
    """db is killed: `calm` (the default) keeps its program; `eager`
    (restart_with_dependencies) is stopped and starts again after the new db is ready."""
    text = _config(tmp_path, ("calm", []), ("eager", ["w.restart_with_dependencies = True"]))
    run = start_daemon(godpy_run, text)
    wait_until(lambda: _all_up(run.socket), 20, what="every watch up")
    first = wait_until(lambda: _events(tmp_path, "calm"), what="calm's start line")
    calm = pids.add(first[0][1])
    # up means running, not written yet: a program killed before its first line (eager is
    # stopped when db dies) would leave one start line where the test counts two
    _times(tmp_path, "eager", "start")
    db = read_pid(tmp_path / "pids" / "db.pid")
    os.kill(db, signal.SIGKILL)
    assert _times(tmp_path, "eager", "start", 2)[1] >= _times(tmp_path, "db", "ready", 2)[1]
    wait_until(lambda: _all_up(run.socket), 20, what="every watch up again")
    assert [what for what, _pid, _at in _events(tmp_path, "calm")] == ["start"]
    assert alive(calm)


def test_shutdown_stops_the_apps_before_the_database(tmp_path, shop):
    """`godpy terminate`: app's program is stopped before db's."""
    assert cli("terminate", socket=shop.socket).returncode == 0
    assert _times(tmp_path, "app", "stop")[0] <= _times(tmp_path, "db", "stop")[0]
