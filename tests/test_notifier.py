"""The notifier: throttling, the bounded queue, retries with backoff, and never blocking."""

import logging
import threading
import time

import pytest
from conftest import wait_until
from contact_servers import HttpSink, SilentServer
from godpy.conditions.always import Always
from godpy.contacts.webhook import Webhook

from godpy.contact import Contact
from godpy.notifier import Notifier, Policy
from godpy.task import Task


class Recorder(Contact):
    """A contact keeping what it was given (it stands for any real one)."""

    def __init__(self, **attrs):
        self._got = []
        super().__init__(**attrs)

    @property
    def got(self):
        return self._got

    def notify(self, message):
        self.got.append(message)
        return f"recorded {len(self.got)}"


def _notifier(contacts, clock=None, start=True, **policy):
    notifier = Notifier({c.name: c for c in contacts}, Policy(**policy), clock=clock)
    if start:
        notifier.start()
    return notifier


@pytest.fixture
def web():
    """A task standing for a watch, and two of its conditions."""
    return Task(name="web", group="webs"), Always(what=True), Always(what=False)


def test_repeats_within_the_interval_are_counted_and_reported_next(web, clock):
    """Same (watch, condition, contact) within notify_interval: suppressed, then counted."""
    task, cond, _other = web
    tom = Recorder(name="tom")
    notifier = _notifier([tom], clock=clock)
    try:
        for _ in range(5):
            notifier.notify(task, cond, ["tom"], "web [trigger] down")
            clock.advance(10)
        wait_until(lambda: len(tom.got) == 1)
        clock.advance(20)  # 60 s after the first one sent
        notifier.notify(task, cond, ["tom"], "web [trigger] down again")
        wait_until(lambda: len(tom.got) == 2)
    finally:
        notifier.close()
    assert [m["suppressed"] for m in tom.got] == [0, 4]
    assert tom.got[1]["message"] == "web [trigger] down again"
    assert tom.got[1]["watch"] == "web" and tom.got[1]["group"] == "webs"
    assert tom.got[1]["condition"] == "Always" and tom.got[1]["contact"] == "tom"


def test_throttling_is_per_condition_per_contact_and_per_watch(web, clock):
    """Another condition, contact or watch is not held back by the first one's interval."""
    task, cond, other = web
    tom, ann = Recorder(name="tom"), Recorder(name="ann")
    notifier = _notifier([tom, ann], clock=clock)
    try:
        notifier.notify(task, cond, ["tom", "ann"], "one")
        notifier.notify(task, other, ["tom"], "two")
        notifier.notify(Task(name="db"), cond, ["tom"], "three")
        notifier.notify(task, cond, ["tom", "ann"], "four")  # throttled for both
        wait_until(lambda: len(tom.got) == 3 and len(ann.got) == 1)
    finally:
        notifier.close()
    assert sorted(m["message"] for m in tom.got) == ["one", "three", "two"]


def test_interval_zero_sends_every_one_and_contact_interval_wins(web, clock):
    """Policy interval 0 turns throttling off; a contact's notify_interval overrides it."""
    task, cond, _other = web
    tom, ann = Recorder(name="tom"), Recorder(name="ann", notify_interval=300)
    notifier = _notifier([tom, ann], clock=clock, interval=0)
    try:
        for _ in range(3):
            notifier.notify(task, cond, ["tom", "ann"], "flap")
        wait_until(lambda: len(tom.got) == 3 and len(ann.got) == 1)
    finally:
        notifier.close()


def test_group_names_reach_members_once_and_unknown_names_warn(web, godlog):
    """A group reaches its members; a contact named twice gets one message."""
    task, cond, _other = web
    tom, ann = Recorder(name="tom", group="devs"), Recorder(name="ann", group="devs")
    notifier = _notifier([tom, ann])
    try:
        notifier.notify(task, cond, ["tom", "devs", "nobody"], "hello")
        wait_until(lambda: len(tom.got) == 1 and len(ann.got) == 1)
    finally:
        notifier.close()
    assert "web no matching contacts for 'nobody'" in godlog.text


def test_full_queue_drops_the_oldest_and_counts(web, godlog):
    """Beyond queue_size the oldest waiting message goes, with a log line counting drops."""
    task, cond, _other = web
    tom = Recorder(name="tom")
    notifier = _notifier([tom], start=False, queue_size=3, interval=0)
    for n in range(5):
        notifier.notify(task, cond, ["tom"], f"message {n}")
    assert (notifier.pending(), notifier.dropped) == (3, 2)
    assert "notification queue full (3 waiting): dropped the oldest, for 'tom' about web; " in (
        godlog.text
    )
    assert "; 2 dropped in all" in godlog.text
    notifier.start()
    try:
        wait_until(lambda: len(tom.got) == 3)
    finally:
        notifier.close()
    assert [m["message"] for m in tom.got] == ["message 2", "message 3", "message 4"]


def test_failures_are_retried_with_backoff_until_success(web, godlog):
    """A server failing twice then answering 200: three POSTs, waits 0.2 s then 0.4 s."""
    task, cond, _other = web
    with HttpSink(statuses=[500, 502]) as sink:
        hook = Webhook(name="hook", url=sink.url, format="json")
        notifier = _notifier([hook], backoff=0.2)
        try:
            notifier.notify(task, cond, ["hook"], "web [trigger] down")
            wait_until(lambda: "notified 'hook'" in godlog.text, timeout=10)
        finally:
            notifier.close()
    times = [r["at"] for r in sink.requests]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.19 and times[2] - times[1] >= 0.39
    assert times[2] - times[0] < 3
    assert "web notification to 'hook' failed (attempt 1 of 3): DeliveryError: " in godlog.text
    assert "HTTP 500" in godlog.text and "retrying in 0.2s (Webhook)" in godlog.text
    assert "retrying in 0.4s (Webhook)" in godlog.text
    assert f"web notified 'hook': sent webhook to {sink.url} (HTTP 200) (Webhook)" in godlog.text
    assert "Traceback" not in godlog.text


def test_gives_up_after_the_last_attempt(web, godlog):
    """Attempts are bounded: after the third failure it logs an error and stops trying."""
    task, cond, _other = web
    with HttpSink(statuses=[500] * 10) as sink:
        notifier = _notifier([Webhook(name="hook", url=sink.url)], backoff=0.05)
        try:
            notifier.notify(task, cond, ["hook"], "down")
            wait_until(lambda: "giving up" in godlog.text, timeout=10)
            time.sleep(0.3)
        finally:
            notifier.close()
    assert len(sink.requests) == 3
    errors = [r for r in godlog.records if r.levelno == logging.ERROR]
    assert [r.getMessage()[:49] for r in errors] == [
        "web notification to 'hook' failed (attempt 3 of 3"
    ]
    assert notifier.pending() == 0


def test_a_hanging_contact_holds_one_worker_and_never_the_caller(web):
    """notify() returns at once; a contact that hangs delays neither the caller nor others."""
    task, cond, _other = web
    audit = Recorder(name="audit")
    with SilentServer() as silent:
        slow = Webhook(name="slow", url=silent.url, timeout=30)
        notifier = _notifier([slow, audit], interval=0)
        try:
            started = time.monotonic()
            for n in range(20):
                notifier.notify(task, cond, ["slow", "audit"], f"m{n}")
            took = time.monotonic() - started
            wait_until(lambda: len(audit.got) == 20, timeout=10)
            wait_until(lambda: silent.received and b"POST /hook" in silent.received[0])
            assert len(silent.received) == 1, "one attempt in flight per contact"
        finally:
            notifier.close(grace=0.2)
    assert took < 0.1


def test_send_test_reports_success_failure_and_unknown_names():
    """send_test: one try, the outcome per contact; an unknown name suggests a close one."""
    tom = Recorder(name="tom", group="devs")
    with HttpSink(statuses=[500]) as sink:
        hook = Webhook(name="hook", url=sink.url, group="devs")
        notifier = _notifier([tom, hook])
        try:
            outcome = notifier.send_test("devs", wait=10)
            with pytest.raises(LookupError, match="no contact or group named 'tmo'; did you"):
                notifier.send_test("tmo", wait=1)
        finally:
            notifier.close()
    assert outcome["tom"] == (True, "recorded 1")
    assert outcome["hook"][0] is False and "HTTP 500" in outcome["hook"][1]
    assert len(sink.requests) == 1
    assert tom.got[0]["category"] == "test" and tom.got[0]["message"].startswith("godpy test")


def test_close_reports_what_was_not_delivered(web, godlog):
    """At shutdown, queued messages get a grace period; what remains is counted in the log."""
    task, cond, _other = web
    gate = threading.Event()

    class Stuck(Recorder):
        def notify(self, message):
            gate.wait(5)
            return super().notify(message)

    stuck = Stuck(name="stuck")
    notifier = _notifier([stuck], interval=0)
    for _ in range(3):
        notifier.notify(task, cond, ["stuck"], "x")
    wait_until(lambda: notifier.pending() == 2)
    notifier.close(grace=0.2)
    gate.set()
    assert "3 notification(s) not delivered: godpy is stopping" in godlog.text
