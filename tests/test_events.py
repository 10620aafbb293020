"""``godpy events``: the EventLog ring (unit), the ``events`` command, and the stream a real
daemon sends the real CLI."""

import json
import os
import signal
import subprocess
import threading
from types import SimpleNamespace

import pytest
from cli_helpers import cli, cli_popen, config, kill_probes, live_pid, start_daemon, watch
from conftest import GODPY, wait_until

from godpy import control
from godpy.control import ControlApi, iso_time
from godpy.event_log import LINGER, EventLog
from godpy.rpc import Client


# -- the ring (unit: a fake clock, a condition that never sleeps) -----------------------------
class StepCondition(threading.Condition):
    """A condition whose ``wait`` never sleeps: it records the timeout and moves the fake
    clock on by it, or runs ``during_wait`` instead (what another thread would do then)."""

    def __init__(self, clock):
        super().__init__(threading.RLock())  # re-entrant: during_wait publishes
        self.clock, self.waits, self.during_wait = clock, [], None

    def wait(self, timeout=None):
        self.waits.append(timeout)
        if self.during_wait is not None:
            action, self.during_wait = self.during_wait, None
            action()
            return True
        self.clock.advance(timeout)
        return False


def make_log(clock, size=100):
    cond = StepCondition(clock)
    return EventLog(size, cond, clock=clock, wall=lambda: 1_800_000_000.0), cond


def exit_of(log, watch="web", group="g", pid=1):
    log.publish(watch, group, "exit", {"pid": pid, "code": None, "signal": "SIGKILL"})


def test_events_are_numbered_in_order_and_read_after_a_sequence_number(clock):
    """Each event gets the next sequence number; read(since) returns the later ones in order
    and the newest number, to pass as ``since`` next time."""
    log, _ = make_log(clock)
    for pid in (10, 11, 12):
        exit_of(log, pid=pid)
    seq, events = log.read(1)
    assert seq == 3 == log.seq
    assert [(e["seq"], e["pid"]) for e in events] == [(2, 11), (3, 12)]
    assert events[0] == {
        "time": 1_800_000_000.0,
        "seq": 2,
        "watch": "web",
        "group": "g",
        "kind": "exit",
        "pid": 11,
        "code": None,
        "signal": "SIGKILL",
    }
    assert log.read(3) == (3, [])


def test_read_filters_by_watch_or_group_name(clock):
    """A name selects the events of that watch, or of every watch in that group."""
    log, _ = make_log(clock)
    exit_of(log, "web-0", "web")
    exit_of(log, "db", None)
    exit_of(log, "web-1", "web")
    assert [e["watch"] for e in log.read(0, "web")[1]] == ["web-0", "web-1"]
    assert [e["watch"] for e in log.read(0, "db")[1]] == ["db"]
    assert log.read(0, "nothing") == (3, [])  # the sequence number moves on all the same


def test_a_reader_behind_the_ring_is_told_how_many_events_it_lost(clock):
    """Once the ring has dropped events a reader had not read, it gets one "lost" event with
    their count before the events still kept."""
    log, _ = make_log(clock, size=3)
    for pid in range(1, 6):  # 1 and 2 fall out of the ring
        exit_of(log, pid=pid)
    seq, events = log.read(0)
    assert seq == 5
    assert events[0] == {"time": 1_800_000_000.0, "seq": 2, "kind": "lost", "count": 2}
    assert [e["pid"] for e in events[1:]] == [3, 4, 5]
    assert [e["kind"] for e in log.read(1)[1]] == ["lost", "exit", "exit", "exit"]
    assert [e["kind"] for e in log.read(2)[1]] == ["exit", "exit", "exit"]


def test_wait_returns_empty_after_its_timeout(clock):
    """With nothing new, wait blocks on the condition until the timeout, then returns []."""
    log, cond = make_log(clock)
    exit_of(log)
    assert log.wait(1, None, timeout=1.0) == (1, [])
    assert cond.waits == [1.0]


def test_wait_returns_at_once_when_events_are_there(clock):
    """Events already after ``since`` are returned without waiting."""
    log, cond = make_log(clock)
    exit_of(log)
    assert [e["seq"] for e in log.wait(0, None, 1.0)[1]] == [1]
    assert cond.waits == []


def test_wait_wakes_for_a_matching_event_and_waits_on_past_others(clock):
    """An event of another watch wakes the waiter, which waits again for the time left; the
    matching event ends the wait."""
    log, cond = make_log(clock)

    def other_then_ours():
        exit_of(log, "db", None)
        clock.advance(0.25)
        cond.during_wait = lambda: exit_of(log, "web", "g", pid=7)

    cond.during_wait = other_then_ours
    seq, events = log.wait(0, "web", timeout=1.0)
    assert seq == 2
    assert [e["pid"] for e in events] == [7]
    assert cond.waits == [1.0, 0.75, LINGER]


def test_a_woken_reader_lingers_and_takes_the_rest_of_the_burst(clock):
    """Woken by an exit, the reader waits LINGER more (the restart finishes first) and
    returns the exit with the start that followed it."""
    log, cond = make_log(clock)

    def exit_then_start():
        exit_of(log, pid=7)
        cond.during_wait = lambda: log.publish("web", "g", "start", {"pid": 8})

    cond.during_wait = exit_then_start
    seq, events = log.wait(0, None, timeout=1.0)
    assert (seq, [e["kind"] for e in events]) == (2, ["exit", "start"])
    assert cond.waits == [1.0, LINGER]


def test_wait_returns_at_once_once_closed(clock):
    """After close (the daemon ends), a waiter is answered at once, and so is every reader."""
    log, cond = make_log(clock)
    cond.during_wait = log.close
    assert log.wait(0, None, 1.0) == (0, [])
    assert log.closed
    assert log.wait(0, None, 1.0) == (0, [])
    assert cond.waits == [1.0]


def test_last_returns_the_newest_kept_events_of_a_name(clock):
    """last(n, name) is the newest sequence number and the last n events of that name."""
    log, _ = make_log(clock)
    for n in range(6):
        exit_of(log, "web" if n % 2 else "db", None, pid=n)
    assert log.last(2, "web") == (6, [log.read(3)[1][0], log.read(5)[1][0]])
    assert log.last(0) == (6, [])


def test_publishing_is_safe_from_many_threads():
    """Drivers publish at once from their threads: every event is kept once, numbered
    1..N with no gap."""
    log = EventLog(size=10_000)

    def publish(name):
        for pid in range(500):
            exit_of(log, name, None, pid)

    threads = [threading.Thread(target=publish, args=(f"w{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    seq, events = log.read(0)
    assert seq == 4000
    assert [e["seq"] for e in events] == list(range(1, 4001))


# -- the command (a daemon stand-in with a real EventLog) -------------------------------------
def api_with(log, *names):
    tasks = {
        n: SimpleNamespace(name=n, group="web" if n.startswith("web") else None) for n in names
    }
    return ControlApi(SimpleNamespace(event_log=log, tasks=tasks))


def test_iso_time_is_utc_with_milliseconds():
    """Event times are ISO 8601 in UTC with milliseconds and a Z."""
    assert iso_time(1_796_060_401.1234) == "2026-11-30T17:40:01.123Z"


def test_events_command_starts_a_stream_and_stamps_times(clock):
    """since=None starts a stream at the newest event (with ``last`` kept ones); later calls
    return what came after, their time in ISO 8601."""
    log, _ = make_log(clock)
    api = api_with(log, "web-0", "db")
    exit_of(log, "web-0", "web")
    first = api.events(None, "web", 0, 5)
    assert first["seq"] == 1 and not first["closed"] and not first["busy"]
    assert first["events"][0]["time"] == "2027-01-15T08:00:00.000Z"
    assert api.events(None, None, 0)["events"] == []
    exit_of(log, "db", None)
    reply = api.events(1, "db", 0)
    assert [e["watch"] for e in reply["events"]] == ["db"]
    assert api.events(1, "all", 0)["events"] == reply["events"]


def test_events_command_names_an_unknown_watch_with_a_close_match(clock):
    """Starting a stream for a name that is no watch or group fails with a suggestion."""
    api = api_with(make_log(clock)[0], "web-0", "db")
    with pytest.raises(LookupError, match="no watch or group named 'wbe'; did you mean 'web'"):
        api.events(None, "wbe")


@pytest.mark.parametrize("args", [("1",), (-1,), (True,), (0, None, "1"), (0, None, -2.0)])
def test_events_command_refuses_bad_arguments(clock, args):
    """since must be a whole number >= 0 and timeout a number of seconds >= 0."""
    api = api_with(make_log(clock)[0])
    with pytest.raises(ValueError):
        api.events(*args)


def test_events_command_does_not_wait_past_its_share_of_workers(clock, monkeypatch):
    """Past MAX_WAITING callers already waiting, a caller is answered at once, with busy."""
    log, cond = make_log(clock)
    api = api_with(log)
    monkeypatch.setattr(api, "_waiting", threading.BoundedSemaphore(1))
    api._waiting.acquire()  # one caller waits already
    assert api.events(0, None, 1.0) == {"seq": 0, "events": [], "closed": False, "busy": True}
    assert cond.waits == []
    api._waiting.release()
    assert api.events(0, None, 1.0)["busy"] is False
    assert cond.waits == [1.0]


def test_events_is_a_control_method():
    """The socket serves `events` (METHODS is the explicit list)."""
    assert "events" in control.METHODS


# -- a real daemon, the real CLI --------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


class Stream:
    """A running ``godpy events ...``: its stdout lines read (as JSON) by a thread."""

    def __init__(self, socket, *args):
        self.proc = cli_popen("events", *args, socket=socket, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)  # fmt: skip
        self.events = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    def wait_for(self, match, timeout=15.0, what=None):
        """Wait until an event read so far matches; return the first that does."""
        return wait_until(
            lambda: next((e for e in self.events if match(e)), None),
            timeout,
            what=f"{what or 'an event'} in {self.events[-20:]}",
        )

    def end(self, timeout=15.0):
        """Wait for the command to exit; return (exit code, stderr)."""
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        return code, self.proc.stderr.read().decode()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def streams():
    started = []

    def start(socket, *args):
        started.append(Stream(socket, *args))
        return started[-1]

    yield start
    for stream in started:
        stream.stop()


def _app(tmp_path, *extra):
    return config(
        tmp_path,
        watch(tmp_path, "web", group="front", keepalive='interval=30, stable_after="0s"'),
        watch(tmp_path, "other"),
        *extra,
    )


@pytest.mark.system
def test_kill_9_shows_the_exit_with_its_signal_then_the_new_start(
    tmp_path, godpy_run, pids, streams
):
    """`godpy events web` prints the kill -9 as an exit with signal SIGKILL, the state
    changes, and the start of the new process with its pid; nothing of other watches."""
    run = start_daemon(godpy_run, _app(tmp_path))
    old = pids.add(live_pid(tmp_path, "web"))
    live_pid(tmp_path, "other")
    stream = streams(run.socket, "web", "-n", "100")
    stream.wait_for(lambda e: e["kind"] == "start" and e["pid"] == old, what="the first start")
    os.kill(old, signal.SIGKILL)
    died = stream.wait_for(lambda e: e["kind"] == "exit" and e["pid"] == old, what="the exit")
    assert died["signal"] == "SIGKILL" and died["code"] is None
    assert died["watch"] == "web" and died["group"] == "front"
    new = stream.wait_for(lambda e: e["kind"] == "start" and e["seq"] > died["seq"])
    assert new["pid"] != old and pids.add(new["pid"]) == live_pid(tmp_path, "web")
    moves = [(e["from"], e["to"]) for e in stream.events if e["kind"] == "state"]
    assert ("up", "start") in moves
    assert {e["watch"] for e in stream.events} == {"web"}
    assert new["time"].endswith("Z") and new["time"][:4].isdigit()
    seqs = [e["seq"] for e in stream.events]
    assert seqs == sorted(seqs)


@pytest.mark.system
def test_stop_shows_stop_then_exit_and_status_answers_while_readers_wait(
    tmp_path, godpy_run, pids, streams
):
    """With more readers waiting in `events` than the socket has workers, status and stop
    still answer; stop shows as a stop event, then the process's exit (the probe exits 0
    on SIGTERM)."""
    run = start_daemon(godpy_run, _app(tmp_path))
    pid = pids.add(live_pid(tmp_path, "other"))
    stop_readers = threading.Event()
    calls = []

    def reader():
        with Client(run.socket, 30) as client:
            seq = client.call("events", None, None, 0, 0)["seq"]
            while not stop_readers.is_set():
                reply = client.call("events", seq, None, 1.0)
                seq = reply["seq"]
                calls.append(reply["busy"])
                if reply["busy"]:  # as the CLI does
                    stop_readers.wait(0.5)

    readers = [threading.Thread(target=reader, daemon=True) for _ in range(20)]
    for thread in readers:
        thread.start()
    try:
        wait_until(lambda: len(calls) >= 20, 30, what="the readers polling")
        assert any(calls), "some readers should have been told the daemon is busy"
        stream = streams(run.socket, "other", "-n", "1")
        stream.wait_for(lambda e: True, what="the replayed event")  # it follows from now on
        assert cli("status", socket=run.socket).returncode == 0
        result = cli("stop", "other", socket=run.socket)
        assert result.returncode == 0, result.stderr
    finally:
        stop_readers.set()
        for thread in readers:
            thread.join(10)
    stopped = stream.wait_for(lambda e: e["kind"] == "stop", what="the stop")
    assert stopped["pid"] == pid
    ended = stream.wait_for(lambda e: e["kind"] == "exit", what="the exit")
    assert (ended["pid"], ended["code"], ended["signal"]) == (pid, 0, None)
    assert ended["seq"] > stopped["seq"]


@pytest.mark.system
def test_events_ends_with_exit_0_when_the_daemon_stops(tmp_path, godpy_run, pids, streams):
    """terminate: the stream shows the watches being stopped, then ends with exit 0."""
    run = start_daemon(godpy_run, _app(tmp_path))
    pid = pids.add(live_pid(tmp_path, "web"))
    stream = streams(run.socket, "-n", "100")
    stream.wait_for(lambda e: e["kind"] == "start" and e["pid"] == pid, what="the start")
    assert cli("terminate", socket=run.socket).returncode == 0
    code, err = stream.end()
    assert (code, err) == (0, "")
    assert any(e["kind"] == "exit" and e["pid"] == pid for e in stream.events)


@pytest.mark.system
def test_events_exits_4_when_the_daemon_is_killed(tmp_path, godpy_run, pids, streams):
    """A daemon killed by SIGKILL never says it ends: the stream ends with exit 4 and a line
    saying so."""
    run = start_daemon(godpy_run, _app(tmp_path))
    live_pid(tmp_path, "web")
    stream = streams(run.socket, "-n", "1")
    stream.wait_for(lambda e: True, what="the replayed event")
    run.proc.kill()
    run.proc.wait(10)
    code, err = stream.end()
    assert code == 4
    assert err.startswith("godpy: ") and "closed the connection" in err


@pytest.mark.system
def test_ctrl_c_and_a_closed_pipe_end_the_stream_quietly(tmp_path, godpy_run, pids, streams):
    """Ctrl-C exits 0; a reader that closes the pipe (`| head -n 1`) ends it with exit 0 and
    nothing on stderr."""
    run = start_daemon(godpy_run, _app(tmp_path))
    live_pid(tmp_path, "web")
    stream = streams(run.socket, "-n", "1")
    stream.wait_for(lambda e: True, what="the replayed event")
    stream.proc.send_signal(signal.SIGINT)
    assert stream.end() == (0, "")
    head = subprocess.run(  # pipefail: the exit code is godpy's, not only head's
        ["bash", "-o", "pipefail", "-c", f"'{GODPY}' events -n 5 | head -n 1"],
        capture_output=True,
        text=True,
        env={**os.environ, "GODPY_SOCKET": run.socket},
        timeout=60,
    )
    assert (head.returncode, head.stderr) == (0, "")
    assert json.loads(head.stdout)["seq"] >= 1


@pytest.mark.system
def test_unknown_name_fails_with_a_suggestion(tmp_path, godpy_run):
    """`godpy events wbe` exits 1 with a did-you-mean, like the other commands."""
    run = start_daemon(godpy_run, _app(tmp_path))
    result = cli("events", "wbe", socket=run.socket)
    assert result.returncode == 1
    assert result.stderr == "godpy: no watch or group named 'wbe'; did you mean 'web'?\n"


@pytest.mark.system
def test_failed_start_and_the_notification_are_events(tmp_path, godpy_run, streams):
    """A start command that cannot run is a failed event with its reason; giving up moves
    to failed and notifies, and the notification is an event with message and contacts."""
    sent = tmp_path / "notified.jsonl"
    broken = (
        "with God.watch() as w:\n"
        '    w.name = "broken"\n'
        f"    w.start = {str(tmp_path / 'no-such-program')!r}\n"
        '    w.keepalive(start_retries=1, notify="ops")\n'
        'with God.contact("log") as c:\n'
        '    c.name = "audit"\n    c.group = "ops"\n'
        f"    c.path = {str(sent)!r}\n"
    )
    run = start_daemon(godpy_run, config(tmp_path, broken))
    stream = streams(run.socket, "broken", "-n", "100")
    failed = stream.wait_for(lambda e: e["kind"] == "failed", what="the failed start")
    assert (
        failed["reason"].startswith("failed to start: ") and "no-such-program" in failed["reason"]
    )
    told = stream.wait_for(lambda e: e["kind"] == "notify", what="the notification")
    assert told["contacts"] == ["ops"]
    assert told["message"].startswith("broken failed: gave up")
    stream.wait_for(lambda e: e["kind"] == "state" and e["to"] == "failed", what="failed")
