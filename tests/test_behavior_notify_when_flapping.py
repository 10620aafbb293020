"""notify_when_flapping: contacts hear about a watch started too often."""

import sys

import pytest
from behavior_helpers import make_watch
from conftest import wait_until
from godpy.behaviors.notify_when_flapping import NotifyWhenFlapping

CRASHES = [sys.executable, "-c", "raise SystemExit(1)"]


def flapping_watch(tmp_path, pids, clock, **attrs):
    """A watch of a crashing program with the behavior, and the notifications it sends."""
    sent = []
    attrs = {"failures": 3, "seconds": 60, "notify": "ops", **attrs}
    w = make_watch(tmp_path, pids, CRASHES, [("notify_when_flapping", attrs)])
    w.attach_runtime(None, None, lambda *args: sent.append(args))
    w.behaviors[0]._clock = clock
    return w, sent


def start(w):
    """Start the crashing program once its last run has ended (a running process is never
    started twice)."""
    wait_until(lambda: w.process.pid is None, what="the last run to end")
    w.action("start")


@pytest.mark.integration
def test_third_start_within_the_window_notifies(tmp_path, pids, clock):
    """Three real starts within 60 s notify once, with God's message and the behavior."""
    w, sent = flapping_watch(tmp_path, pids, clock)
    for _ in range(2):
        start(w)
        clock.advance(10)
    assert sent == []
    start(w)
    task, source, names, message, priority, category = sent[0]
    assert (task, names, priority, category) == (w, ["ops"], None, None)
    assert isinstance(source, NotifyWhenFlapping)
    assert message == "app has called start/restart 3 times in 60 seconds"
    start(w)
    assert len(sent) == 1, "the count starts again after a notification"


@pytest.mark.integration
def test_starts_outside_the_window_do_not_count(tmp_path, pids, clock):
    """Starts older than `seconds` are forgotten."""
    w, sent = flapping_watch(tmp_path, pids, clock, seconds="1min")
    for _ in range(5):
        start(w)
        clock.advance(31)
    assert sent == []


@pytest.mark.integration
def test_a_restart_counts_once(tmp_path, pids, clock):
    """A restart (stop, then start) is one start, not two; priority/category pass on."""
    notify = {"contacts": ["ops", "tom"], "priority": 1, "category": "flap"}
    w, sent = flapping_watch(tmp_path, pids, clock, failures=2, notify=notify)
    w.action("restart")
    assert sent == []
    w.action("restart")
    assert [s[2:] for s in sent] == [
        (["ops", "tom"], "app has called start/restart 2 times in 60 seconds", "1", "flap")
    ]


def test_without_a_notifier_the_message_is_logged(tmp_path, pids, clock, godlog):
    """Outside a daemon (no notification hook) the notification is logged."""
    w, _sent = flapping_watch(tmp_path, pids, clock, failures=1)
    w.attach_runtime(None, None, None)
    w.run_hooks("before", "start")
    assert "app notify ops: app has called start/restart 1 times in 60 seconds" in godlog.text


def test_invalid_configuration_messages(tmp_path, pids):
    """Missing and bad attributes are all reported."""
    w = make_watch(tmp_path, pids, "true", [("notify_when_flapping", {"failures": 0})])
    w.behavior("notify_when_flapping", failures=2, seconds=5, notify=42)
    assert w.valid() == [
        "watch 'app': behavior notify_when_flapping: 'seconds' is required",
        "watch 'app': behavior notify_when_flapping: 'notify' is required",
        "watch 'app': behavior notify_when_flapping: failures must be a positive integer",
        "watch 'app': behavior notify_when_flapping: bad notify 42; use a contact or group "
        "name, a list of names, or {'contacts': [...], 'priority': 1, 'category': 'x'}",
    ]
