"""Readiness in a running daemon, with real processes and the real notify socket: a
database that says READY=1 (sd_notify), one that stops its watchdog pings, messages from
processes that are not the watch's, ready_if with a port, and a dependency's deadline.
Order is judged by the timestamps the programs write themselves."""

import json
import os
import socket
import subprocess
import sys

import pytest
from cli_helpers import HEAD, cli, kill_probes, start_daemon
from conftest import GODPY, read_lines, wait_until

pytestmark = pytest.mark.system

#: A program speaking sd_notify with the socket module only. Arguments: its record file,
#: then options: ``--ready-after S`` (READY=1 after S seconds), ``--ready-on FILE`` (once
#: FILE exists), ``--ping-until FILE`` (WATCHDOG=1 every 0.1 s until FILE exists),
#: ``--status-on FILE`` (STATUS=after once FILE exists), ``--sibling UID PYTHON`` (a
#: child in its process group, PYTHON run as UID, sends READY=1 first), ``--listen-on FILE PORT``
#: (listen on PORT once FILE exists). Each record line: what, pid, time.
NOTIFIER = """\
import json, os, signal, socket, subprocess, sys, time
record, args = sys.argv[1], sys.argv[2:]
def note(what):
    with open(record, "a") as fh:
        fh.write(f"{what} {os.getpid()} {time.time():.6f}\\n")
def send(text):
    address = os.environ.get("NOTIFY_SOCKET")
    if address is None:
        return
    if address.startswith("@"):
        address = "\\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(text.encode(), address)
def option(name, count=1):
    if name not in args:
        return None
    at = args.index(name)
    return args[at + 1] if count == 1 else args[at + 1 : at + 1 + count]
def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.02)
def stop(*_):
    note("stop")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
with open(record + ".env", "w") as fh:
    json.dump({k: os.environ.get(k) for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}, fh)
note("start")
send("STATUS=loading")
if option("--sibling"):
    code = "import os, socket; a = os.environ['NOTIFY_SOCKET']; " \\
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); " \\
        "s.sendto(b'READY=1\\\\nSTATUS=sibling', '\\\\0' + a[1:]); import time; time.sleep(5)"
    uid, python = option("--sibling", 2)
    # it lives on a while: godpy looks up a sender's process group after the datagram
    # came, and a sender already gone cannot be placed (its message is dropped unseen)
    subprocess.Popen([python, "-c", code], user=int(uid))
    note("sibling")
if option("--listen-on"):
    path, port = option("--listen-on", 2)
    wait_for(path)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(port)))
    server.listen()
    note("listen")
if option("--status-on"):
    wait_for(option("--status-on"))
    send("STATUS=after")
if option("--ready-after"):
    time.sleep(float(option("--ready-after")))
if option("--ready-on"):
    wait_for(option("--ready-on"))
if option("--ready-after") or option("--ready-on"):
    note("ready")
    send("READY=1\\nSTATUS=accepting connections")
if option("--ping-until"):
    while not os.path.exists(option("--ping-until")):
        send("WATCHDOG=1")
        time.sleep(0.1)
    note("silent")
while True:
    time.sleep(60)
"""


@pytest.fixture(autouse=True)
def _no_program_left(tmp_path):
    yield
    kill_probes(tmp_path)


def _config(tmp_path, db_args, db_lines=(), app=True):
    """db runs NOTIFIER with ``db_args`` and ``db_lines``; app (a NOTIFIER that never
    says READY=1, without sd_notify) depends on db."""
    (tmp_path / "notifier.py").write_text(NOTIFIER)
    text = HEAD.format(pids=str(tmp_path / "pids"))
    program = [sys.executable, str(tmp_path / "notifier.py")]
    db = [*program, str(tmp_path / "db.rec"), *map(str, db_args)]
    text += "\nwith God.watch() as w:\n    w.name = 'db'\n"
    text += f"    w.start = {db!r}\n    w.keepalive(interval=0.2)\n"
    text += "".join(f"    {line}\n" for line in db_lines)
    if app:
        argv = [*program, str(tmp_path / "app.rec")]
        text += "\nwith God.watch() as w:\n    w.name = 'app'\n"
        text += f"    w.start = {argv!r}\n    w.depends_on = 'db'\n    w.keepalive(interval=0.2)\n"
    return text


def _times(tmp_path, name, what, count=1):
    """The times of the ``what`` lines of ``name``'s program, once there are ``count``."""

    def found():
        rows = [line.split() for line in read_lines(tmp_path / f"{name}.rec")]
        times = [float(at) for kind, _pid, at in rows if kind == what]
        return len(times) >= count and times

    return wait_until(found, 20, what=f"{count} {what} line(s) of {name}")


def _rows(sock):
    return {r["name"]: r for r in json.loads(cli("status", "--json", socket=sock).stdout)}


def _row_is(sock, name, **expected):
    row = _rows(sock).get(name, {})
    return all(row.get(k) == v for k, v in expected.items()) and row


def _send(address, text, **kwargs):
    """Send ``text`` to the notify socket from a fresh python process."""
    code = (
        "import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
        "s.sendto(sys.argv[2].encode(), '\\0' + sys.argv[1][1:])"
    )
    subprocess.run([sys.executable, "-c", code, address, text], check=True, **kwargs)


def test_the_app_starts_after_ready_1(tmp_path, godpy_run):
    """db says READY=1 1.5 s after its start: app starts after that, every time; db's
    STATUS= text shows in status, and the program got NOTIFY_SOCKET."""
    run = start_daemon(godpy_run, _config(tmp_path, ["--ready-after", 1.5], ["w.sd_notify = True"]))
    wait_until(lambda: _row_is(run.socket, "app", state="up", ready=True), 20, what="app up")
    assert _times(tmp_path, "app", "start")[0] > _times(tmp_path, "db", "ready")[0]
    db = _rows(run.socket)["db"]
    assert (db["ready"], db["not_ready"], db["notify_status"]) == (
        True,
        None,
        "accepting connections",
    )
    env = json.loads((tmp_path / "db.rec.env").read_text())
    assert env["NOTIFY_SOCKET"].startswith("@godpy-notify-")
    assert env["WATCHDOG_USEC"] is None
    assert json.loads((tmp_path / "app.rec.env").read_text())["NOTIFY_SOCKET"] is None
    table = cli("status", socket=run.socket).stdout
    assert '"accepting connections"' in table


def test_up_but_not_ready_until_ready_1(tmp_path, godpy_run):
    """Before READY=1, db is up, not ready (status says so, with its STATUS= text) and
    app waits for it; `restart db` makes it not ready again until its new READY=1."""
    go = tmp_path / "go"
    run = start_daemon(godpy_run, _config(tmp_path, ["--ready-on", go], ["w.sd_notify = True"]))
    db = wait_until(lambda: _row_is(run.socket, "db", state="up", notify_status="loading"), 20)
    assert (db["ready"], db["not_ready"]) == (False, "waiting for READY=1")
    assert _rows(run.socket)["app"]["reason"] == "waiting for db"
    table = cli("status", socket=run.socket).stdout
    assert 'not ready: waiting for READY=1  "loading"' in table
    go.touch()
    wait_until(lambda: _row_is(run.socket, "app", state="up", ready=True), 20, what="app up")
    assert _times(tmp_path, "app", "start")[0] > _times(tmp_path, "db", "ready")[0]

    go.unlink()  # a restart returns once db is ready again: run it aside
    restart = subprocess.Popen(
        [GODPY, "restart", "db"],
        env={**os.environ, "GODPY_SOCKET": run.socket},
        stdout=subprocess.PIPE,
        text=True,
    )
    _times(tmp_path, "db", "start", 2)
    wait_until(lambda: _row_is(run.socket, "db", state="up", not_ready="waiting for READY=1"))
    go.touch()
    assert restart.wait(30) == 0, restart.stdout.read()
    assert _times(tmp_path, "app", "start", 2)[1] > _times(tmp_path, "db", "ready", 2)[1]


def test_a_program_that_stops_its_watchdog_pings_is_restarted(tmp_path, godpy_run):
    """watchdog = 1s: the program pings every 0.1 s, then stops; it is restarted, the log
    says why, and its environment had WATCHDOG_USEC."""
    stop = tmp_path / "stop-pinging"
    lines = ["w.sd_notify = True", 'w.watchdog = "1s"']
    run = start_daemon(
        godpy_run, _config(tmp_path, ["--ready-after", 0, "--ping-until", stop], lines, app=False)
    )
    wait_until(lambda: _row_is(run.socket, "db", state="up", ready=True), 20, what="db ready")
    assert json.loads((tmp_path / "db.rec.env").read_text())["WATCHDOG_USEC"] == "1000000"
    stop.touch()
    _times(tmp_path, "db", "start", 2)
    run.wait_log("db watchdog: no WATCHDOG=1 for 1s; restarting")
    stop.unlink()
    wait_until(lambda: _row_is(run.socket, "db", state="up", ready=True), 20, what="ready again")


def test_messages_from_other_processes_are_ignored(throwaway_user, tmp_path, godpy_run):
    """A child of db's process group running as another user, and a stranger (same
    user, another process) send READY=1: db stays not ready; its own STATUS= counts."""
    go = tmp_path / "go"
    lines = ["w.sd_notify = True"]
    python = "/usr/bin/python3"  # the user may not reach the python running the tests
    if not os.access(python, os.X_OK):
        pytest.skip(f"{python} is needed to run a process as the throwaway user")
    db_args = ["--sibling", throwaway_user.uid, python, "--status-on", go]
    run = start_daemon(godpy_run, _config(tmp_path, db_args, lines, app=False))
    _times(tmp_path, "db", "sibling")
    address = json.loads((tmp_path / "db.rec.env").read_text())["NOTIFY_SOCKET"]
    _send(address, "READY=1\nSTATUS=stranger")
    go.touch()
    db = wait_until(lambda: _row_is(run.socket, "db", notify_status="after"), 20)
    assert (db["state"], db["ready"], db["not_ready"]) == ("up", False, "waiting for READY=1")
    run.wait_log(f"(uid {throwaway_user.uid}): not this watch's process running as uid 0")
    assert "stranger" not in run.text()


def test_ready_if_port_listening(tmp_path, godpy_run):
    """ready_if(port_listening): db is not ready until it listens; app starts after."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    go = tmp_path / "go"
    lines = [
        "w.interval = 0.1",
        "with w.ready_if() as on:",
        f"    on.condition('port_listening', port={port})",
    ]
    run = start_daemon(godpy_run, _config(tmp_path, ["--listen-on", go, port], lines))
    db = wait_until(lambda: _row_is(run.socket, "db", state="up"), 20)
    assert (db["ready"], db["not_ready"]) == (False, "waiting for port_listening")
    go.touch()
    wait_until(lambda: _row_is(run.socket, "app", state="up", ready=True), 20, what="app up")
    assert _times(tmp_path, "app", "start")[0] > _times(tmp_path, "db", "listen")[0]


def test_a_dependency_late_past_its_start_timeout_fails_the_start(tmp_path, godpy_run):
    """db is not ready 1 s after its start: `start app` fails naming it, status says so,
    and app starts once db is ready after all."""
    go = tmp_path / "go"
    lines = ["w.sd_notify = True", "w.start_timeout = 1"]
    run = start_daemon(godpy_run, _config(tmp_path, ["--ready-on", go], lines))
    late = "dependency db not ready after 1s; waiting for db"
    wait_until(lambda: _row_is(run.socket, "app", reason=late), 20, what="app's reason")
    out = cli("start", "app", socket=run.socket)
    assert out.returncode != 0
    assert "dependency db not ready after 1s" in out.stdout
    assert "not ready after 1s: waiting for READY=1" in out.stdout  # db's own line
    go.touch()
    wait_until(lambda: _row_is(run.socket, "app", state="up", ready=True), 20, what="app up")
    assert _times(tmp_path, "app", "start")[0] > _times(tmp_path, "db", "ready")[0]
