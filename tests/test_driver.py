"""Driver: the per-task queue of polls and operations, served with a fake clock."""

import logging
from concurrent.futures import CancelledError

import pytest

from godpy.condition import PollCondition, TriggerCondition
from godpy.driver import Driver, Operation
from godpy.task import Task


class Recorder:
    """A stand-in task: records every operation and poll the driver hands it."""

    name = "rec"

    def __init__(self):
        self.calls = []

    def handle_poll(self, cond):
        self.calls.append(("poll", cond))
        if cond == "bad-poll":
            raise RuntimeError("poll exploded")

    def op(self, *args):
        self.calls.append(("op", *args))
        return ("done", *args)

    def fail(self, *args):
        self.calls.append(("fail", *args))
        raise ValueError("operation exploded")


@pytest.fixture
def rec():
    return Recorder()


@pytest.fixture
def driver(rec, clock):
    return Driver(rec, clock=clock)


def drain(driver):
    """Pop every due item without serving it; return them (operations by name)."""
    items = []
    while (item := driver.pop(block=False)) is not None:
        items.append(item.name if isinstance(item, Operation) else item)
    return items


# -- ordering ---------------------------------------------------------------------------
def test_polls_come_out_in_due_time_order(driver, clock):
    """Polls are popped earliest-due first, whatever order they were scheduled in."""
    driver.schedule("a", 5)
    driver.schedule("b", 2)
    driver.schedule("c", 8)
    clock.advance(10)
    assert drain(driver) == ["b", "a", "c"]


def test_polls_due_together_keep_scheduling_order(driver):
    """Polls due at the same time come out in the order they were scheduled."""
    for name in ("x", "y", "z"):
        driver.schedule(name, 0)
    assert drain(driver) == ["x", "y", "z"]


def test_poll_is_not_popped_before_it_is_due(driver, clock):
    """pop(block=False) returns None until the clock reaches the poll's due time."""
    driver.schedule("a", 5)
    assert driver.pop(block=False) is None
    clock.advance(4.9)
    assert driver.pop(block=False) is None
    clock.advance(0.1)
    assert driver.pop(block=False) == "a"
    assert driver.pop(block=False) is None


def test_run_pending_serves_only_due_polls(driver, rec, clock):
    """run_pending serves what is due now and leaves later polls queued."""
    driver.schedule("soon", 1)
    driver.schedule("later", 3)
    clock.advance(1)
    assert driver.run_pending() == 1
    assert rec.calls == [("poll", "soon")]
    assert driver.scheduled("later") and not driver.scheduled("soon")


def test_due_in_reports_time_left(driver, clock):
    """due_in gives the seconds until a pending poll, None when none is pending."""
    driver.schedule("a", 5)
    clock.advance(2)
    assert driver.due_in("a") == pytest.approx(3)
    assert driver.due_in("b") is None


# -- operations ---------------------------------------------------------------------------
def test_messages_jump_ahead_of_every_pending_poll(driver, clock):
    """Operations are served before polls that were already due, FIFO among themselves."""
    driver.schedule("a", 0)
    driver.schedule("b", 1)
    clock.advance(5)
    driver.message("first")
    driver.message("second")
    driver.message("third")
    assert drain(driver) == ["first", "second", "third", "a", "b"]


def test_message_runs_without_waiting_for_the_clock(driver, rec):
    """An operation is due at once; no clock advance is needed."""
    driver.schedule("a", 60)
    driver.message("op", 1)
    assert driver.run_pending() == 1
    assert rec.calls == [("op", 1)]


def test_message_future_carries_the_result(driver):
    """message() returns a Future that receives the operation's return value."""
    future = driver.message("op", 1, 2)
    assert not future.done()
    driver.run_pending()
    assert future.result(timeout=0) == ("done", 1, 2)


def test_message_future_carries_the_exception(driver, godlog):
    """An operation that raises sets the exception on its Future."""
    future = driver.message("fail")
    driver.run_pending()
    with pytest.raises(ValueError, match="operation exploded"):
        future.result(timeout=0)


def test_failing_operation_is_logged_and_driver_keeps_serving(driver, rec, godlog):
    """An exception in an operation is logged with the task name and does not propagate."""
    driver.message("fail", "x")
    later = driver.message("op", "y")
    driver.schedule("a", 0)
    assert driver.run_pending() == 3
    assert rec.calls == [("fail", "x"), ("op", "y"), ("poll", "a")]
    assert later.result(timeout=0) == ("done", "y")
    errors = [r for r in godlog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage() == "rec error in fail: operation exploded"
    assert errors[0].exc_info is not None
    assert errors[0].watch == "rec"


def test_failing_poll_is_logged_and_driver_keeps_serving(driver, rec, godlog):
    """An exception from handle_poll is logged with the task name; later items still run."""
    driver.schedule("bad-poll", 0)
    driver.schedule("good", 0)
    assert driver.run_pending() == 2
    assert rec.calls == [("poll", "bad-poll"), ("poll", "good")]
    errors = [r for r in godlog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["rec error while polling str: poll exploded"]
    assert errors[0].exc_info is not None


def test_unknown_operation_fails_its_future_only(driver, rec, godlog):
    """A message naming no task method fails its Future and the driver carries on."""
    bad = driver.message("no_such_method")
    good = driver.message("op")
    driver.run_pending()
    with pytest.raises(AttributeError):
        bad.result(timeout=0)
    assert good.result(timeout=0) == ("done",)


def test_cancelled_operation_is_skipped(driver, rec):
    """An operation whose caller gave up (Future cancelled) is skipped, not fatal."""
    gave_up = driver.message("op", "late")
    assert gave_up.cancel()
    kept = driver.message("op", "kept")
    assert driver.run_pending() == 2
    assert rec.calls == [("op", "kept")]
    assert kept.result(timeout=0) == ("done", "kept")
    with pytest.raises(CancelledError):
        gave_up.result(timeout=0)


# -- unschedule and reschedule --------------------------------------------------------------
def test_unschedule_drops_only_that_conditions_poll(driver):
    """unschedule removes one condition's poll and leaves the others."""
    driver.schedule("a", 0)
    driver.schedule("b", 0)
    driver.unschedule("a")
    assert not driver.scheduled("a")
    assert driver.pending() == 1
    assert drain(driver) == ["b"]


def test_unschedule_never_drops_a_queued_operation(driver, rec):
    """An operation about a condition survives unscheduling that condition."""
    driver.schedule("a", 0)
    future = driver.message("op", "a")
    driver.unschedule("a")
    driver.unschedule("op")
    assert driver.run_pending() == 1
    assert rec.calls == [("op", "a")]
    assert future.done()


def test_unschedule_of_an_unknown_condition_is_harmless(driver):
    """Unscheduling a condition with no pending poll changes nothing."""
    driver.schedule("a", 0)
    driver.unschedule("zzz")
    assert drain(driver) == ["a"]


def test_rescheduling_replaces_the_pending_poll(driver, rec, clock):
    """A condition has at most one pending poll: scheduling again replaces the earlier one."""
    driver.schedule("a", 0)
    driver.schedule("a", 5)
    assert driver.pending() == 1
    assert driver.run_pending() == 0
    clock.advance(5)
    assert driver.run_pending() == 1
    clock.advance(100)
    assert driver.run_pending() == 0
    assert rec.calls == [("poll", "a")]


def test_rescheduling_earlier_moves_the_poll_forward(driver, rec, clock):
    """Rescheduling at a shorter delay serves the poll at the new time, once."""
    driver.schedule("a", 10)
    driver.schedule("a", 1)
    clock.advance(1)
    assert driver.run_pending() == 1
    clock.advance(20)
    assert driver.run_pending() == 0
    assert rec.calls == [("poll", "a")]


def test_popped_poll_is_no_longer_scheduled(driver):
    """Once a poll is popped, the condition counts as not scheduled (it may be again)."""
    driver.schedule("a", 0)
    assert driver.pop(block=False) == "a"
    assert not driver.scheduled("a")
    driver.schedule("a", 0)
    assert driver.pop(block=False) == "a"


# -- shutdown -----------------------------------------------------------------------------
def test_shutdown_without_a_thread_makes_pop_return_none(driver, clock):
    """After shutdown (no thread ever started), pop returns None even with due items."""
    driver.schedule("a", 0)
    driver.message("op")
    driver.shutdown(timeout=0)
    assert driver.pop(block=False) is None
    assert driver.pop(block=True) is None
    assert driver.run_pending() == 0


def test_shutdown_fails_pending_futures(driver, rec):
    """Operations still queued at shutdown fail with 'driver stopped' instead of hanging."""
    first = driver.message("op", 1)
    second = driver.message("op", 2)
    driver.schedule("a", 0)
    driver.shutdown(timeout=0)
    for future in (first, second):
        with pytest.raises(RuntimeError, match="rec: driver stopped"):
            future.result(timeout=0)
    assert rec.calls == []


def test_shutdown_skips_cancelled_futures(driver):
    """A cancelled operation still queued at shutdown is left cancelled, without an error."""
    gave_up = driver.message("op")
    waiting = driver.message("op")
    gave_up.cancel()
    driver.shutdown(timeout=0)
    assert gave_up.cancelled()
    assert isinstance(waiting.exception(timeout=0), RuntimeError)


def test_message_after_shutdown_fails_at_once(driver):
    """A message sent to a stopped driver fails its Future instead of waiting forever."""
    driver.shutdown(timeout=0)
    future = driver.message("op")
    with pytest.raises(RuntimeError, match="driver stopped"):
        future.result(timeout=0)


# -- the God bugs, pinned with a real Task ----------------------------------------------------
class Script(PollCondition):
    """Returns the values of ``script`` in turn; the last one repeats."""

    script = None

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._n = 0

    def test(self):
        value = self.script[min(self._n, len(self.script) - 1)]
        self._n += 1
        return value


class EnteredB(TriggerCondition):
    """Triggers each time its task enters state 'b'; remembers what it accepted."""

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._accepted = []

    def process(self, event, payload):
        if payload[1] == "b":
            self.trigger({"entered": "b"})

    def accept(self, payload):
        self._accepted.append(payload)
        return True


def test_transition_keeps_queued_stop_command(clock):
    """A CLI command queued while a poll moves the task still runs (God #9/#189)."""
    t = Task(name="t", valid_states=["idle", "busy"], initial_state="idle", interval=1)
    with t.transition("idle", "busy") as on:
        trigger = on.condition(Script, script=[True])
    with t.transition("busy", "idle") as on:
        on.condition(Script, script=[False])
    t.prepare()
    assert t.valid() == []
    driver = Driver(t, clock=clock)
    t.attach_runtime(driver)
    driver.message("monitor")
    driver.dispatch(driver.pop(block=False))
    assert t.state == "idle"
    poll = driver.pop(block=False)
    assert poll is trigger
    stop = driver.message("unmonitor")  # the operator typed "stop" during the poll
    driver.dispatch(poll)  # the poll moves idle -> busy: detach, attach
    assert t.state == "busy"
    driver.run_pending()
    assert stop.done() and stop.exception() is None
    assert t.state == "unmonitored"
    assert driver.pending() == 0


def test_transition_keeps_flapping_trigger(clock):
    """A trigger's handle_event queued during a move survives the moves after it (God #193)."""
    t = Task(name="t", valid_states=["a", "b", "c", "rest"], initial_state="a", interval=1)
    flap = t.lifecycle().condition(EnteredB, transition="rest")
    t.prepare()
    assert t.valid() == []
    driver = Driver(t, clock=clock)
    t.attach_runtime(driver)
    driver.message("monitor")
    driver.run_pending()
    moves = []
    for state in ("b", "c", "a"):
        moves.append(driver.message("move", state))
    driver.run_pending()
    assert all(m.done() and m.exception() is None for m in moves)
    assert flap._accepted == [{"entered": "b"}]
    assert t.state == "rest"


# -- timers (message_at) -----------------------------------------------------------------
def test_timer_runs_only_when_due(driver, rec, clock):
    """message_at(5, ...) stays queued until the clock reaches it, then runs once."""
    future = driver.message_at(5, "op", "timer")
    assert driver.run_pending() == 0
    clock.advance(4.9)
    assert driver.run_pending() == 0
    clock.advance(0.1)
    assert driver.run_pending() == 1
    assert future.result(timeout=0) == ("done", "timer")
    assert rec.calls == [("op", "timer")]


def test_timer_is_ordered_with_polls_and_behind_messages(driver, rec, clock):
    """A due timer sorts by due time among polls; a message still jumps ahead of both."""
    driver.schedule("poll-3", 3)
    driver.message_at(2, "op", "timer-2")
    clock.advance(5)
    driver.message("op", "now")
    driver.run_pending()
    assert rec.calls == [("op", "now"), ("op", "timer-2"), ("poll", "poll-3")]


def test_timer_survives_unschedule_and_can_be_cancelled(driver, rec, clock):
    """Unscheduling polls leaves timers alone; a cancelled timer is skipped."""
    kept = driver.message_at(1, "op", "kept")
    dropped = driver.message_at(1, "op", "dropped")
    driver.unschedule("anything")
    assert dropped.cancel()
    clock.advance(1)
    driver.run_pending()
    assert rec.calls == [("op", "kept")]
    assert kept.done()


def test_task_call_runs_the_function_on_the_driver(clock):
    """Task.call is how a condition's timer comes back: message_at(d, "call", f, arg)."""
    seen = []
    task = Task(name="t", valid_states=["a"], initial_state="a")
    driver = Driver(task, clock=clock)
    driver.message_at(2, "call", seen.append, "fired")
    clock.advance(2)
    driver.run_pending()
    assert seen == ["fired"]
