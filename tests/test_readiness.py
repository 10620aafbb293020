"""Readiness on its own (pure), and in a watch on the fake clock: READY=1 from the right
process only, the watchdog, the deadline of a dependency, and ready_if's checks, each
polled only until it holds. The watch runs a real ``sleep``; time never really passes."""

import os
import signal

import pytest

from godpy.dependencies import ready
from godpy.driver import Driver
from godpy.process import Children
from godpy.readiness import Readiness, parse, shown_status
from godpy.watch import Watch


# -- pure ---------------------------------------------------------------------------------
def test_parse_reads_key_value_lines():
    """Later lines win, lines without '=' are skipped, bad UTF-8 is replaced."""
    assert parse(b"READY=1\nSTATUS=a=b\njunk\nSTATUS=c\n") == {"READY": "1", "STATUS": "c"}
    assert parse(b"STATUS=\xff") == {"STATUS": "\ufffd"}


def test_status_text_is_one_short_line():
    assert shown_status("  two\nlines ") == "two lines"
    assert len(shown_status("x" * 500)) == 200


def test_without_notify_or_checks_it_is_always_ready():
    r = Readiness()
    r.begin(0.0)
    assert (r.configured, r.ready, r.not_ready()) == (False, True, None)


def test_ready_needs_ready_1_and_every_check_and_a_new_run_starts_again():
    r = Readiness(notify=True, checks={"a": "port_listening", "b": "http_response_code"})
    r.begin(10.0)
    assert r.not_ready() == "waiting for READY=1, port_listening, http_response_code"
    assert r.take({"STATUS": "loading"}, 11.0) is False
    assert (r.status, r.ready) == ("loading", False)
    assert r.held("a") is False
    assert r.take({"READY": "1"}, 12.0) is False
    assert r.not_ready() == "waiting for http_response_code"
    assert r.held("b") is True
    assert r.ready and r.not_ready() is None
    r.settled()
    r.begin(20.0)
    assert (r.ready, r.status, r.since) == (False, None, 20.0)


def test_the_wait_begins_at_the_first_run_not_ready_and_goes_on_across_runs():
    """A crash loop does not push the deadline back."""
    r = Readiness(notify=True)
    r.begin(10.0)
    r.begin(15.0)
    assert r.since == 10.0
    assert r.overdue(39.0, 30) is False and r.overdue(40.0, 30) is True
    r.late = "not ready after 30s"
    assert r.not_ready() == "not ready after 30s: waiting for READY=1"


def test_the_watchdog_counts_from_the_last_ping_once_ready():
    r = Readiness(notify=True)
    r.begin(0.0)
    r.take({"WATCHDOG": "1"}, 1.0)
    assert r.ping_due(2.0, 5) is None  # not ready: the watchdog does not apply yet
    r.take({"READY": "1"}, 2.0)
    assert r.ping_due(3.0, 5) == 4.0
    r.take({"WATCHDOG": "1"}, 6.0)
    assert r.ping_due(11.0, 5) == 0.0


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"state": "up", "pid": 3, "action": None, "not_ready": None}, True),
        ({"state": "up", "pid": 3, "action": None, "not_ready": "waiting for READY=1"}, False),
    ],
)
def test_dependencies_read_not_ready(row, expected):
    assert ready(row) is expected


# -- in a watch, on the fake clock --------------------------------------------------------
@pytest.fixture
def make(tmp_path, clock):
    """make(**attrs, ready_if=[callables]) -> (watch, driver), its process started (a real
    ``sleep``); every process is killed at teardown."""
    made = []

    def build(ready_if=(), **attrs):
        attrs.setdefault("name", "db")
        w = Watch(start=["sleep", "60"], interval=1, **attrs)
        w.transition("init", "start")
        if ready_if:
            with w.ready_if() as on:
                for check in ready_if:
                    on.condition("lambda", lambda_=check)
        w.build(str(tmp_path), Children())
        w.prepare()
        assert w.valid() == []
        driver = Driver(w, clock=clock)
        w.attach_runtime(driver)
        made.append(w)
        driver.message("monitor")
        settle(driver)
        assert w.state == "up" and w.pid
        return w, driver

    yield build
    for w in made:
        pid = w.pid
        if pid:
            os.kill(pid, signal.SIGKILL)
            w.process.reap()


def settle(driver):
    """Serve everything due now (a move queues polls due at once)."""
    for _ in range(20):
        if not driver.run_pending():
            return


def tell(w, driver, text, pid=None, uid=None):
    """A datagram from ``pid`` (default: the watch's process) on the notify socket."""
    pid = w.pid if pid is None else pid
    driver.message("notified", pid, os.getuid() if uid is None else uid, text.encode())
    settle(driver)


def test_dependents_hear_of_up_once_the_snapshot_says_ready(tmp_path, clock):
    """The last notice of a move comes after the readiness is synced: a dependent that
    reads the snapshot then finds the watch ready (the notice of the move itself could
    find an `up` watch not ready yet, and the dependent waited for ever)."""
    w = Watch(name="db", start=["sleep", "60"], interval=1)
    w.transition("init", "start")
    w.build(str(tmp_path), Children())
    w.prepare()
    driver = Driver(w, clock=clock)
    seen = []
    w.attach_runtime(driver, on_change=lambda task: seen.append(ready(task.snapshot())))
    driver.message("monitor")
    try:
        settle(driver)
        assert w.state == "up" and seen[-1] is True
    finally:
        if w.pid:
            os.kill(w.pid, signal.SIGKILL)
            w.process.reap()


def test_an_sd_notify_watch_is_up_but_not_ready_until_ready_1(make):
    w, driver = make(sd_notify=True)
    snap = w.snapshot()
    assert (snap["not_ready"], ready(snap)) == ("waiting for READY=1", False)
    tell(w, driver, "STATUS=loading")
    assert w.snapshot()["notify_status"] == "loading"
    tell(w, driver, "READY=1\nSTATUS=serving")
    snap = w.snapshot()
    assert (snap["not_ready"], snap["notify_status"], ready(snap)) == (None, "serving", True)


def test_ready_1_from_another_process_or_user_is_ignored(make):
    w, driver = make(sd_notify=True)
    tell(w, driver, "READY=1", pid=os.getpid())  # a stranger (same user)
    tell(w, driver, "READY=1", uid=os.getuid() + 4242)  # its pid, another user
    assert w.snapshot()["not_ready"] == "waiting for READY=1"


def test_the_watchdog_restarts_a_silent_program(make, clock):
    """watchdog 1s: pings keep it; 1 s without one restarts it, and it is not ready."""
    w, driver = make(sd_notify=True, watchdog="1s")
    tell(w, driver, "READY=1")
    first = w.pid
    for _ in range(3):
        clock.advance(0.9)
        tell(w, driver, "WATCHDOG=1")
        assert w.pid == first
    clock.advance(1.0)
    settle(driver)
    assert w.pid != first and w.state == "up"
    assert w.snapshot()["not_ready"] == (
        "waiting for READY=1 (restarted: watchdog: no WATCHDOG=1 for 1s)"
    )
    assert w.cause() == "watchdog: no WATCHDOG=1 for 1s"
    clock.advance(5)
    settle(driver)  # not ready: no watchdog until its READY=1
    assert w.snapshot()["not_ready"].startswith("waiting for READY=1")


def test_a_watch_not_ready_after_start_timeout_is_late_until_ready(make, clock):
    w, driver = make(sd_notify=True, start_timeout=5)
    clock.advance(4.9)
    settle(driver)
    assert w.snapshot()["late"] is None
    clock.advance(0.1)
    settle(driver)
    snap = w.snapshot()
    assert (snap["late"], snap["not_ready"]) == (
        "not ready after 5s",
        "not ready after 5s: waiting for READY=1",
    )
    tell(w, driver, "READY=1")
    assert (w.snapshot()["late"], w.snapshot()["not_ready"]) == (None, None)


def test_a_held_dependent_fails_its_start_while_a_dependency_is_late(make):
    """The dependent's pending start answers with the late dependency, and it waits on."""
    late = ["dependency db not ready after 5s"]
    w, driver = make(name="app")
    w.attach_dependencies(lambda: ["db"], lambda: late)
    driver.message("control", "stop")
    outcome = driver.message("control", "start")
    settle(driver)
    result = outcome.result(0)
    result = result.result(0) if hasattr(result, "result") else result
    assert result["ok"] is False and result["reason"] == late[0]
    assert w.snapshot()["reason"] == "dependency db not ready after 5s; waiting for db"


def test_ready_if_checks_are_polled_only_until_they_hold(make, clock):
    port = {"open": False, "calls": 0}

    def listening():
        port["calls"] += 1
        return port["open"]

    w, driver = make(ready_if=[listening])
    (check,) = w.metrics["ready_if"][0].conditions
    assert w.snapshot()["not_ready"] == "waiting for lambda"
    assert driver.scheduled(check)
    port["open"] = True
    clock.advance(1)
    settle(driver)
    assert w.snapshot()["not_ready"] is None and not driver.scheduled(check)
    calls = port["calls"]
    clock.advance(10)
    settle(driver)
    assert port["calls"] == calls  # ready: no more polls
    port["open"] = False
    driver.message("control", "restart")
    settle(driver)
    assert w.snapshot()["not_ready"] == "waiting for lambda" and driver.scheduled(check)


# -- the notify socket's reader -----------------------------------------------------------
class Recorder:
    """What the reader thread needs of a watch: a name, its process's claim, a driver."""

    def __init__(self, pid):
        self.name, self.process, self.driver = "db", self, self
        self.mine, self.got = pid, []

    def claims(self, pid, group):
        return pid == self.mine

    def message(self, name, *args):
        self.got.append((name, *args))


def _devnulls():
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}") == os.devnull
        except OSError:
            pass
    return found


def test_the_reader_hands_a_datagram_to_the_watch_whose_process_sent_it(tmp_path):
    """Sender pid and uid come from the kernel; descriptors passed along are closed."""
    import array
    import socket
    import time

    from conftest import wait_until

    from godpy.notify_socket import NotifySocket

    notify = NotifySocket(f"@godpy-test-{os.getpid()}-{time.monotonic_ns()}")
    notify.start()
    try:
        ours, stranger = Recorder(os.getpid()), Recorder(1)
        notify.add(stranger)
        notify.add(ours)  # same name: replaces the first
        before = _devnulls()
        passed = os.open(os.devnull, os.O_RDONLY)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            address = b"\0" + notify.address[1:].encode()
            rights = (socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [passed]))
            sock.sendmsg([b"READY=1"], [rights], 0, address)
        os.close(passed)
        got = wait_until(lambda: ours.got, what="the datagram")
        assert got == [("notified", os.getpid(), os.getuid(), b"READY=1")]
        assert stranger.got == []
        assert _devnulls() == before  # the copy the kernel gave the reader was closed
    finally:
        notify.stop()
