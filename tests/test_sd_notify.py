"""sd_notify: the pure parts, a real datagram socket, a real daemon under a fake systemd,
and the example unit file."""

import configparser
import logging
import os
import pathlib
import socket
import uuid

import pytest
from cli_helpers import config, kill_probes, live_pid, watch
from conftest import wait_until

from godpy import sd_notify
from godpy.sd_notify import Notifier

SERVICE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "godpy.service"


class Inbox:
    """The receiving end of a notify socket, read without blocking."""

    def __init__(self, sock):
        self.sock = sock
        sock.setblocking(False)
        self.messages = []

    def read(self):
        """Every datagram received so far, decoded."""
        while True:
            try:
                self.messages.append(self.sock.recv(65536).decode())
            except BlockingIOError:
                return self.messages

    def lines(self):
        return [line for m in self.read() for line in m.split("\n")]

    def wait(self, predicate, what, timeout=15.0):
        return wait_until(lambda: predicate(self.lines()), timeout, what=f"{what}: {self.messages}")


@pytest.fixture
def inbox(tmp_path):
    """A datagram socket bound at ``tmp_path/notify.sock``: what systemd would listen on."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    yield Inbox(sock)
    sock.close()


# -- the pure parts --------------------------------------------------------------------
def test_without_notify_socket_nothing_is_enabled_and_nothing_sent():
    notifier = Notifier.from_env({"WATCHDOG_USEC": "200000"})
    assert not notifier.enabled and notifier.watchdog is None
    assert notifier.send(b"READY=1") is False
    notifier.ready(lambda: pytest.fail("no status is computed when disabled"))
    notifier.tick(0.0, lambda: pytest.fail("no status is computed when disabled"))
    notifier.stopping()
    assert notifier.wait(0.0) == float("inf")
    assert notifier._sock is None  # not even a socket was made


@pytest.mark.parametrize(
    "value, address",
    [
        ("/run/systemd/notify", "/run/systemd/notify"),
        ("@/org/freedesktop/systemd1/notify/123", b"\0/org/freedesktop/systemd1/notify/123"),
        ("", None),
        ("relative/path", None),
        (None, None),
    ],
)
def test_notify_socket_address(value, address):
    assert sd_notify.address_of(value) == address


@pytest.mark.parametrize(
    "env, interval",
    [
        ({"WATCHDOG_USEC": "200000"}, 0.1),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "43"}, None),  # another process's
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(env, interval):
    assert sd_notify.watchdog_interval(env, pid=42) == interval
    notifier = Notifier.from_env({"NOTIFY_SOCKET": "/x", **env}, pid=42)
    assert notifier.enabled and notifier.watchdog == interval


def test_take_removes_the_variables_from_the_environment():
    environ = {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "10", "WATCHDOG_PID": "1", "PATH": "/b"}
    assert Notifier.take(environ).enabled
    assert environ == {"PATH": "/b"}


def test_message_and_status_line():
    assert sd_notify.message(ready=1, status="2 up") == b"READY=1\nSTATUS=2 up"
    snaps = [{"kind": "watch", "state": s} for s in ("up", "up", "failed", "start", "init")]
    snaps += [{"kind": "watch", "state": "unmonitored"}, {"kind": "task", "state": "busy"}]
    assert sd_notify.status_line(snaps) == "2 up, 2 starting, 1 failed, 1 unmonitored"
    assert sd_notify.status_line([]) == "no watches"


# -- a real socket, a fake clock ------------------------------------------------------
def test_tick_pings_at_the_interval_and_sends_a_status_only_when_it_changed(tmp_path, inbox):
    notifier = Notifier(str(tmp_path / "notify.sock"), watchdog=0.1)
    status = ["1 up"]
    notifier.ready(lambda: status[0])
    assert inbox.read() == ["READY=1\nSTATUS=1 up"]
    assert notifier.wait(0.0) == 0.0  # the first ping is due at once
    notifier.tick(0.0, lambda: status[0])
    assert inbox.read()[1:] == ["WATCHDOG=1"]  # the status did not change: not sent
    assert notifier.wait(0.04) == pytest.approx(0.06)
    notifier.tick(0.05, lambda: status[0])
    assert len(inbox.read()) == 2
    status[0] = "1 failed"
    notifier.tick(0.1, lambda: status[0])
    assert inbox.read()[2:] == ["WATCHDOG=1"]  # a status is looked at once a second
    notifier.tick(1.0, lambda: status[0])
    assert inbox.read()[3:] == ["WATCHDOG=1", "STATUS=1 failed"]
    notifier.stopping()
    assert inbox.read()[-1] == "STOPPING=1\nSTATUS=stopping"
    notifier.close()


def test_abstract_socket_name():
    name = f"godpy-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    try:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})
        assert notifier.send(b"READY=1")
        assert Inbox(sock).read() == ["READY=1"]
        notifier.close()
    finally:
        sock.close()


def test_a_failed_send_never_raises_and_warns_once(tmp_path, godlog):
    notifier = Notifier(str(tmp_path / "nobody-listens.sock"), watchdog=0.1)
    notifier.ready(lambda: "1 up")
    notifier.tick(0.0, lambda: "1 up")
    notifier.stopping()
    warnings = [r for r in godlog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "sd_notify: could not tell systemd" in warnings[0].getMessage()
    notifier.close()


def test_a_failed_status_reading_never_raises(tmp_path, inbox):
    notifier = Notifier(str(tmp_path / "notify.sock"))

    def broken():
        raise RuntimeError("snapshot failed")

    notifier.ready(broken)
    assert inbox.read() == ["READY=1\nSTATUS=status unknown"]
    notifier.close()


# -- a real daemon ----------------------------------------------------------------------
@pytest.mark.system
def test_daemon_speaks_sd_notify(tmp_path, inbox, godpy_run, monkeypatch):
    """READY, STATUS, WATCHDOG (at half of WATCHDOG_USEC) and STOPPING reach the socket."""
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    idle = watch(tmp_path, "idle", lines=["w.autostart = False"])
    text = config(tmp_path, watch(tmp_path, "solo"), idle)
    try:
        run = godpy_run(text)
        pid = live_pid(tmp_path, "solo")
        inbox.wait(lambda lines: "READY=1" in lines, "READY=1")
        ready = next(m for m in inbox.messages if "READY=1" in m.split("\n"))
        assert ready.split("\n")[1].startswith("STATUS=")
        inbox.wait(lambda lines: "STATUS=1 up, 1 unmonitored" in lines, "a STATUS= line")
        inbox.wait(lambda lines: lines.count("WATCHDOG=1") >= 2, "2 x WATCHDOG=1")
        with open(f"/proc/{pid}/environ", "rb") as fh:  # godpy speaks for itself only
            assert b"NOTIFY_SOCKET=" not in fh.read()
        assert not any("STOPPING=1" in m for m in inbox.read())
        assert run.terminate() == 0
        inbox.wait(lambda lines: "STOPPING=1" in lines, "STOPPING=1")
        assert "could not tell systemd" not in run.text()
    finally:
        kill_probes(tmp_path)


# -- the example unit ------------------------------------------------------------------
def test_example_unit_file():
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string(SERVICE.read_text())
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["KillMode"] == "mixed"
    assert service["Restart"] == "on-failure"
    assert service["WatchdogSec"] == "30s"
    assert service["ExecStart"].split()[1:] == ["-c", "/etc/godpy/app.god.py", "-D"]
    assert service["ExecReload"].split()[1:] == ["load", "/etc/godpy/app.god.py"]
    assert os.path.basename(service["ExecStart"].split()[0]) == "godpy"
    assert int(service["TimeoutStopSec"].removesuffix("s")) > 10 + 10  # default terminate wait
    assert unit["Install"]["WantedBy"] == "multi-user.target"
