"""Task: the generic state machine, driven by a Driver on a fake clock (no processes)."""

import logging

import pytest

from godpy.backlog import Backlog
from godpy.behavior import Behavior
from godpy.condition import EventCondition, PollCondition, TriggerCondition
from godpy.driver import Driver
from godpy.errors import AttributeProblem
from godpy.task import Task


class Script(PollCondition):
    """Returns the values of ``script`` in turn (the last repeats); an exception is raised."""

    script = None

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._n = 0

    @property
    def calls(self):
        return self._n

    def test(self):
        value = self.script[min(self._n, len(self.script) - 1)]
        self._n += 1
        if isinstance(value, Exception):
            raise value
        self.info = f"reading {self._n}"
        return value


class Exit(EventCondition):
    """An event condition that records its registrations instead of listening to pids."""

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._log = []
        self._fire = None
        self._accept = True

    def register(self):
        self._fire = self.callback()
        self._log.append("register")

    def deregister(self):
        self._log.append("deregister")

    def accept(self, payload):
        self.info = f"exited {payload}"
        return self._accept


class Changes(TriggerCondition):
    """A trigger condition that records the state changes it is shown."""

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._seen = []

    def process(self, event, payload):
        self._seen.append((event, payload))


class Hooks(Behavior):
    """Records before_clean / after_clean; ``fail`` names a hook that raises."""

    fail = None

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._calls = []

    def before_clean(self):
        self._calls.append("before_clean")
        if self.fail == "before_clean":
            raise RuntimeError("hook exploded")
        return "cleaning up"

    def after_clean(self):
        self._calls.append("after_clean")


def make_task(states=("a", "b", "c"), initial="a", **attrs):
    """A generic task with a 1 s default interval."""
    attrs.setdefault("interval", 1)
    return Task(name="t", valid_states=list(states), initial_state=initial, **attrs)


def wire(task, clock, notifier=None):
    """Prepare and validate ``task``, then give it a Driver on ``clock``."""
    task.prepare()
    assert task.valid() == []
    driver = Driver(task, clock=clock)
    task.attach_runtime(driver, notifier=notifier)
    return driver


def monitor(task, clock, notifier=None):
    """Wire ``task``, send "monitor" and serve everything due (the first polls included)."""
    driver = wire(task, clock, notifier)
    driver.message("monitor")
    driver.run_pending()
    return driver


def serve(driver, name, *args):
    """Send one operation and serve only it; return its result."""
    future = driver.message(name, *args)
    driver.dispatch(driver.pop(block=False))
    return future.result(timeout=0)


def tick(driver, clock, seconds=1):
    """Advance the clock and serve whatever became due."""
    clock.advance(seconds)
    return driver.run_pending()


def messages(caplog, level=None):
    return [r.getMessage() for r in caplog.records if level is None or r.levelno == level]


# -- entering and leaving states ---------------------------------------------------------------
def test_monitor_enters_initial_state_with_polls_due_at_once(clock):
    """monitor moves unmonitored -> initial state and schedules its polls at delay 0."""
    t = make_task()
    with t.transition("a", "b") as on:
        cond = on.condition(Script, script=[False])
    driver = wire(t, clock)
    assert t.state == "unmonitored"
    assert not driver.scheduled(cond)
    serve(driver, "monitor")
    assert t.state == "a"
    assert driver.due_in(cond) == 0


def test_false_poll_reschedules_after_its_interval(clock):
    """A condition that does not trigger is tested again ``interval`` seconds later."""
    t = make_task()
    with t.transition("a", "b") as on:
        cond = on.condition(Script, script=[False], interval=7)
    driver = monitor(t, clock)
    assert cond.calls == 1 and t.state == "a"
    assert driver.due_in(cond) == 7
    tick(driver, clock, 6.9)
    assert cond.calls == 1
    tick(driver, clock, 0.1)
    assert cond.calls == 2


def test_first_check_delays_the_first_test_after_entering_the_state(clock):
    """``first_check``: the first test comes that long after the state is entered, then
    every ``interval``."""
    t = make_task()
    with t.transition("a", "b") as on:
        cond = on.condition(Script, script=[False], interval=7, first_check="3s")
    driver = monitor(t, clock)
    assert cond.calls == 0 and driver.due_in(cond) == 3
    tick(driver, clock, 3)
    assert cond.calls == 1 and driver.due_in(cond) == 7


def test_negative_first_check_is_refused():
    t = make_task()
    with t.transition("a", "b") as on, pytest.raises(AttributeProblem, match="first_check"):
        on.condition(Script, script=[False], first_check=-1)


def test_a_burst_of_moves_hands_on_one_record_when_the_driver_settles(clock):
    """Every move tells the daemon at once (dependents hear of each state), but the
    record goes once, when nothing more is due."""
    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[True])
    with t.transition("b", "c") as on:
        on.condition(Script, script=[True])
    changes, records = [], []
    t.prepare()
    driver = Driver(t, clock=clock)
    t.attach_runtime(driver, on_change=lambda task: changes.append(task.state),
                     on_record=lambda task: records.append(task.state))  # fmt: skip
    driver.message("monitor")
    driver.run_pending()
    assert changes == ["a", "b", "c"]
    assert records == ["c"]
    tick(driver, clock)
    assert records == ["c"]  # nothing changed since


def test_move_detaches_old_conditions_and_attaches_new(clock):
    """Leaving a state unschedules its polls; the new state's polls start at delay 0."""
    t = make_task()
    with t.transition("a", "b") as on:
        leave_a = on.condition(Script, script=[False, True])
    with t.transition("b", "c") as on:
        leave_b = on.condition(Script, script=[False])
    driver = monitor(t, clock)
    assert driver.scheduled(leave_a) and not driver.scheduled(leave_b)
    clock.advance(1)
    driver.dispatch(driver.pop(block=False))
    assert t.state == "b"
    assert not driver.scheduled(leave_a)
    assert driver.due_in(leave_b) == 0
    tick(driver, clock, 10)
    assert leave_a.calls == 2
    assert leave_b.calls == 1


@pytest.mark.parametrize("result, state", [(True, "b"), (False, "c")])
def test_destination_true_and_false(clock, result, state):
    """A {True: b, False: c} destination moves on either result."""
    t = make_task()
    with t.transition("a", {True: "b", False: "c"}) as on:
        on.condition(Script, script=[result])
    monitor(t, clock)
    assert t.state == state


def test_condition_transition_overrides_metric_destination(clock):
    """A condition's own ``transition`` wins over its metric's destination when true."""
    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[True], transition="c")
    monitor(t, clock)
    assert t.state == "c"


def test_condition_transition_is_ignored_when_false(clock):
    """A false condition with ``transition`` follows the metric's False branch, if any."""
    t = make_task()
    with t.transition("a", {True: "b", False: "c"}) as on:
        on.condition(Script, script=[False], transition="b")
    monitor(t, clock)
    assert t.state == "c"


def test_empty_transition_moves_at_once(clock):
    """A transition without conditions gets ``always`` and moves on the first poll."""
    t = make_task()
    t.transition("a", "b")
    monitor(t, clock)
    assert t.state == "b"


def test_unmonitor_detaches_everything(clock):
    """unmonitor leaves every condition detached and nothing queued."""
    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[False])
    t.lifecycle().condition(Script, script=[False])
    driver = monitor(t, clock)
    assert driver.pending() == 2
    serve(driver, "unmonitor")
    assert t.state == "unmonitored"
    assert driver.pending() == 0


# -- times ---------------------------------------------------------------------------------
def test_times_three_of_last_five(clock):
    """times=(3, 5) triggers on the third true reading among the last five."""
    t = make_task()
    with t.transition("a", "b") as on:
        cond = on.condition(Script, script=[True, False, True, False, True], times=(3, 5))
    driver = monitor(t, clock)
    for _ in range(3):
        assert t.state == "a"
        tick(driver, clock)
    assert cond.calls == 4 and t.state == "a"
    tick(driver, clock)
    assert cond.calls == 5 and t.state == "b"


def test_times_forgets_readings_older_than_the_window(clock):
    """Readings older than the last y fall off: T,T,F,F,F,T,T triggers only on the 8th."""
    t = make_task()
    script = [True, True, False, False, False, True, True, True]
    with t.transition("a", "b") as on:
        cond = on.condition(Script, script=script, times=(3, 5))
    driver = monitor(t, clock)
    while t.state == "a" and cond.calls < 20:
        tick(driver, clock)
    assert cond.calls == 8


def test_times_history_resets_when_the_state_is_left(clock):
    """Readings taken before the state was left do not count after it is entered again."""
    t = make_task()
    with t.transition("a", "b") as on:
        cond = on.condition(Script, script=[True], times=(2, 5))
    driver = monitor(t, clock)
    assert cond.calls == 1 and t.state == "a"
    serve(driver, "move", "c")
    serve(driver, "move", "a")
    driver.run_pending()
    assert cond.calls == 2
    assert t.state == "a"
    tick(driver, clock)
    assert t.state == "b"


def test_int_times_means_n_of_n(clock):
    """times=2 means two true readings in a row."""
    t = make_task()
    with t.transition("a", "b") as on:
        cond = on.condition(Script, script=[True, False, True, True], times=2)
    driver = monitor(t, clock)
    while t.state == "a" and cond.calls < 10:
        tick(driver, clock)
    assert cond.calls == 4


# -- lifecycle ---------------------------------------------------------------------------------
def test_lifecycle_active_from_monitor_until_unmonitor(clock):
    """Lifecycle conditions run in every monitored state and stop when unmonitored."""
    t = make_task()
    life = t.lifecycle().condition(Script, script=[False], interval=2)
    driver = wire(t, clock)
    assert not driver.scheduled(life)
    driver.message("monitor")
    driver.run_pending()
    assert life.calls == 1
    serve(driver, "move", "b")
    assert driver.due_in(life) == 2  # not re-attached by moves between monitored states
    tick(driver, clock, 2)
    assert life.calls == 2
    serve(driver, "unmonitor")
    assert not driver.scheduled(life)
    tick(driver, clock, 10)
    assert life.calls == 2


def test_lifecycle_condition_with_transition_moves(clock):
    """A lifecycle condition moves the task only through its own ``transition``."""
    t = make_task()
    t.lifecycle().condition(Script, script=[False, True], transition="c")
    driver = monitor(t, clock)
    assert t.state == "a"
    tick(driver, clock)
    assert t.state == "c"


# -- actions and behaviors ---------------------------------------------------------------------
def test_state_command_runs_between_behavior_hooks(clock, godlog):
    """Entering a state runs its command, with before_ and after_ hooks around it."""
    t = make_task(states=("a", "clean"))
    hooks = t.behavior(Hooks)

    def clean():
        hooks._calls.append("clean")

    t.clean = clean
    driver = monitor(t, clock)
    serve(driver, "move", "clean")
    assert hooks._calls == ["before_clean", "clean", "after_clean"]
    assert "t before_clean: cleaning up (Hooks)" in messages(godlog, logging.INFO)
    assert "t clean: clean" in messages(godlog, logging.INFO)


def test_failing_hook_is_logged_and_action_still_runs(clock, godlog):
    """A before_ hook that raises is logged with the task name; the command still runs."""
    t = make_task(states=("a", "clean"))
    hooks = t.behavior(Hooks, fail="before_clean")
    t.clean = lambda: hooks._calls.append("clean")
    driver = monitor(t, clock)
    serve(driver, "move", "clean")
    assert hooks._calls == ["before_clean", "clean", "after_clean"]
    assert t.state == "clean"
    errors = [r for r in godlog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "t before_clean failed in behavior hooks: hook exploded"
    ]
    assert errors[0].exc_info is not None


def test_failing_command_is_logged_and_after_hook_runs(clock, godlog):
    """A state command that raises is logged; the after_ hook runs and the move completes."""
    t = make_task(states=("a", "clean"))
    hooks = t.behavior(Hooks)

    def clean():
        raise OSError("disk gone")

    t.clean = clean
    driver = monitor(t, clock)
    serve(driver, "move", "clean")
    assert hooks._calls == ["before_clean", "after_clean"]
    assert t.state == "clean"
    assert "t clean command failed: disk gone" in messages(godlog, logging.ERROR)


def test_state_without_command_runs_no_hooks(clock):
    """A state with no command bound runs no hooks."""
    t = make_task(states=("a", "clean"))
    hooks = t.behavior(Hooks)
    driver = monitor(t, clock)
    serve(driver, "move", "clean")
    assert hooks._calls == []


# -- log lines and notification ----------------------------------------------------------------
def test_trigger_logged_at_info_and_ok_at_debug(clock, godlog):
    """[ok] lines go to DEBUG and [trigger] lines to INFO, with the condition's info."""
    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[False, True])
    driver = monitor(t, clock)
    tick(driver, clock)
    assert "t [ok] reading 1 (Script)" in messages(godlog, logging.DEBUG)
    assert "t [trigger] reading 2 (Script)" in messages(godlog, logging.INFO)
    assert not any("[ok]" in m for m in messages(godlog, logging.INFO))
    assert "t move 'a' to 'b'" in messages(godlog, logging.INFO)


def test_false_result_without_destination_is_ok_not_trigger(clock, godlog):
    """A false reading with no False branch logs [ok], never [trigger]."""
    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[False])
    monitor(t, clock)
    assert not any("[trigger]" in m for m in messages(godlog))


def test_list_info_logs_one_line_each(clock, godlog):
    """An info list gives one log line per item."""

    class TwoLines(Script):
        def test(self):
            super().test()
            self.info = ["first", "second"]
            return True

    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(TwoLines, script=[True])
    monitor(t, clock)
    info = messages(godlog, logging.INFO)
    assert "t [trigger] first (TwoLines)" in info
    assert "t [trigger] second (TwoLines)" in info


def test_notify_hook_receives_names_priority_category(clock):
    """The notifier gets the task, condition, contact names, message, priority, category."""
    calls = []
    t = make_task()
    with t.transition("a", "b") as on:
        cond = on.condition(
            Script,
            script=[True],
            notify={"contacts": ["ops", "tom"], "priority": 1, "category": "web"},
        )
    monitor(t, clock, notifier=lambda *args: calls.append(args))
    assert calls == [(t, cond, ["ops", "tom"], "t [trigger] reading 1", "1", "web")]


def test_notify_only_when_triggered(clock):
    """A condition that reads false notifies nobody."""
    calls = []
    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[False], notify="ops")
    driver = monitor(t, clock, notifier=lambda *args: calls.append(args))
    tick(driver, clock)
    assert calls == []


def test_failing_notifier_is_logged_and_move_still_happens(clock, godlog):
    """A notifier that raises is logged; the task still moves."""

    def notifier(*args):
        raise ConnectionError("smtp down")

    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[True], notify="ops")
    monitor(t, clock, notifier=notifier)
    assert t.state == "b"
    assert "t notification failed: smtp down" in messages(godlog, logging.ERROR)


# -- errors in conditions ----------------------------------------------------------------------
def test_exception_in_test_is_logged_and_counts_as_false(clock, godlog):
    """test() raising is logged with the task name and traceback, and taken as False."""
    t = make_task()
    with t.transition("a", {True: "b", False: "c"}) as on:
        on.condition(Script, script=[RuntimeError("sensor broke")])
    monitor(t, clock)
    assert t.state == "c"
    errors = [r for r in godlog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["t error in condition script: sensor broke"]
    assert errors[0].exc_info is not None and errors[0].watch == "t"


def test_exception_in_test_keeps_the_poll_going(clock, godlog):
    """After test() raised, the condition is polled again and can still trigger."""
    t = make_task()
    with t.transition("a", "b") as on:
        cond = on.condition(Script, script=[RuntimeError("flaky"), True])
    driver = monitor(t, clock)
    assert t.state == "a"
    tick(driver, clock)
    assert cond.calls == 2 and t.state == "b"


# -- events and triggers -----------------------------------------------------------------------
def exit_from_a_to_b(clock):
    """A monitored task in ``a`` whose exit event moves it to ``b``: (task, event,
    driver)."""
    t = make_task()
    with t.transition("a", "b") as on:
        ev = on.condition(Exit)
    return t, ev, monitor(t, clock)


def test_event_condition_registers_on_entry_and_deregisters_on_exit(clock):
    """An event condition registers when its state is entered and deregisters on leaving."""
    t, ev, driver = exit_from_a_to_b(clock)
    assert ev._log == ["register"]
    serve(driver, "move", "c")
    assert ev._log == ["register", "deregister"]


def test_event_moves_the_task(clock, godlog):
    """A fired event goes through the queue, logs [trigger] with its info and moves."""
    t, ev, driver = exit_from_a_to_b(clock)
    ev._fire({"pid": 42})
    assert t.state == "a"  # only the driver changes state
    driver.run_pending()
    assert t.state == "b"
    assert "t [trigger] exited {'pid': 42} (Exit)" in messages(godlog, logging.INFO)


def test_an_exit_events_backlog_ticket_is_given_up_once_it_is_handled(clock):
    """The ticket an exit event carries is done once its driver has handled it, and
    the payload the conditions see does not carry it."""
    t, ev, driver = exit_from_a_to_b(clock)
    backlog = Backlog(clock)
    ev._fire({"pid": 42, "ticket": backlog.enter()})
    assert backlog.pending == 1
    driver.run_pending()
    assert t.state == "b" and backlog.pending == 0
    assert ev.info == "exited {'pid': 42}"


def test_a_ticket_for_a_stopped_driver_holds_nobody_up(clock):
    t, ev, driver = exit_from_a_to_b(clock)
    driver.shutdown(timeout=0)
    backlog = Backlog(clock)
    ev._fire({"pid": 42, "ticket": backlog.enter()})
    assert backlog.pending == 0


def test_event_with_wrong_token_is_ignored(clock):
    """An event carrying another registration's token is ignored."""
    t, ev, driver = exit_from_a_to_b(clock)
    serve(driver, "handle_event", ev, ev._token - 1, None)
    assert t.state == "a"
    serve(driver, "handle_event", ev, ev._token, None)
    assert t.state == "b"


def test_event_from_an_old_registration_is_ignored(clock):
    """A callback kept from before the state was left and re-entered is stale."""
    t, ev, driver = exit_from_a_to_b(clock)
    old_fire = ev._fire
    serve(driver, "move", "c")
    old_fire({"pid": 1})  # the condition is detached
    driver.run_pending()
    assert t.state == "c"
    serve(driver, "move", "a")
    old_fire({"pid": 1})  # attached again, but under a new registration
    driver.run_pending()
    assert t.state == "a"


def test_event_for_a_condition_not_attached_is_ignored(clock):
    """An event for a condition of another state is ignored, even with its current token."""
    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[False])
    with t.transition("b", "c") as on:
        other = on.condition(Exit)
    driver = monitor(t, clock)
    serve(driver, "handle_event", other, other._token, None)
    assert t.state == "a"
    assert other._log == []


def test_event_not_accepted_does_nothing(clock):
    """An event that accept() refuses neither logs a trigger nor moves."""
    t, ev, driver = exit_from_a_to_b(clock)
    ev._accept = False
    ev._fire(None)
    driver.run_pending()
    assert t.state == "a"


def test_trigger_condition_sees_every_state_change(clock):
    """A lifecycle trigger sees each monitored state change (detached before unmonitored)."""
    t = make_task()
    changes = t.lifecycle().condition(Changes)
    driver = monitor(t, clock)
    serve(driver, "move", "b")
    serve(driver, "unmonitor")
    serve(driver, "monitor")
    assert changes._seen == [
        ("state_change", ("unmonitored", "a")),
        ("state_change", ("a", "b")),
        ("state_change", ("unmonitored", "a")),
    ]


def test_stale_trigger_after_detach_is_ignored(clock):
    """A trigger from a detached (or since re-attached) trigger condition does not move."""
    t = make_task()
    with t.transition("a", "c") as on:
        trig = on.condition(Changes)
    driver = monitor(t, clock)
    token = trig._token
    serve(driver, "move", "b")  # detaches trig
    serve(driver, "handle_event", trig, token, None)
    assert t.state == "b"
    serve(driver, "move", "a")  # attached again, under a new token
    serve(driver, "handle_event", trig, token, None)
    assert t.state == "a"
    trig.trigger()
    driver.run_pending()
    assert t.state == "c"  # a current trigger does move


# -- poll_now -------------------------------------------------------------------------------
def test_poll_now_reschedules_active_polls_at_once(clock):
    """poll_now makes every active poll due now and leaves inactive ones alone."""
    t = make_task()
    with t.transition("a", "b") as on:
        active = on.condition(Script, script=[False], interval=30)
    with t.transition("b", "c") as on:
        inactive = on.condition(Script, script=[False])
    life = t.lifecycle().condition(Script, script=[False], interval=60)
    driver = monitor(t, clock)
    assert driver.due_in(active) == 30 and driver.due_in(life) == 60
    serve(driver, "poll_now")
    assert driver.due_in(active) == 0 and driver.due_in(life) == 0
    assert not driver.scheduled(inactive)
    driver.run_pending()
    assert active.calls == 2 and life.calls == 2


# -- validation -------------------------------------------------------------------------------
def test_unknown_from_state_is_reported_with_suggestion():
    """A transition from a misspelt state names it and suggests the close match."""
    t = make_task(states=("running", "stopped"), initial="running")
    t.transition("runing", "stopped")
    t.prepare()
    assert (
        "task 't': transition from unknown state 'runing'; did you mean 'running'? "
        "(states: unmonitored, running, stopped)"
    ) in t.valid()


def test_unknown_destination_is_reported():
    """A destination outside the states is reported, a {True:, False:} branch included."""
    t = make_task(states=("running", "stopped"), initial="running")
    t.transition("running", {True: "stoped", False: "gone"})
    t.prepare()
    problems = t.valid()
    assert any(
        "transition to unknown state 'stoped'; did you mean 'stopped'?" in p for p in problems
    )
    assert any("transition to unknown state 'gone' (states:" in p for p in problems)


def test_unknown_condition_transition_is_reported():
    """A condition's ``transition`` naming an unknown state is reported."""
    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[True], transition="zz")
    t.prepare()
    assert any("transition to unknown state 'zz'" in p for p in t.valid())


def test_valid_states_required():
    """A generic task without valid_states is refused."""
    t = Task(name="t", interval=1)
    assert "task 't': 'valid_states' is required" in t.valid()


def test_initial_state_must_be_a_valid_state():
    """A missing or unknown initial_state is refused, naming the valid states."""
    t = Task(name="t", valid_states=["a", "b"], interval=1)
    assert "task 't': initial_state None is not one of ['a', 'b']" in t.valid()
    t.initial_state = "z"
    assert "task 't': initial_state 'z' is not one of ['a', 'b']" in t.valid()


def test_name_required():
    """A task without a name is refused."""
    t = Task(valid_states=["a"], initial_state="a")
    assert "task (unnamed): 'name' is required" in t.valid()


@pytest.mark.parametrize("times", [(5, 3), (0, 2), (1, 2, 3), "3", 0, (1.5, 2)])
def test_bad_times_are_reported(times):
    """times must be n or (x, y) with 1 <= x <= y."""
    t = make_task()
    with t.transition("a", "b") as on:
        on.condition(Script, script=[True], times=times)
    t.prepare()
    assert any(f"bad times {times!r}" in p for p in t.valid())


def test_missing_interval_is_reported():
    """A poll condition with no interval, in a task with none, is refused."""
    t = make_task(interval=None)
    with t.transition("a", "b") as on:
        on.condition(Script, script=[True])
    t.prepare()
    assert (
        "task 't': condition script has no interval and the task has none to inherit; "
        "set interval on either"
    ) in t.valid()


def test_condition_inherits_the_task_interval():
    """prepare gives a poll condition without interval the task's interval."""
    t = make_task(interval="2min")
    with t.transition("a", "b") as on:
        cond = on.condition(Script, script=[True])
        own = on.condition(Script, script=[True], interval=5)
    t.prepare()
    assert t.valid() == []
    assert cond.interval == 120
    assert own.interval == 5


def test_valid_task_has_no_problems():
    """A complete task validates cleanly (the checks above are not always on)."""
    t = make_task()
    with t.transition("a", {True: "b", False: "c"}) as on:
        on.condition(Script, script=[True], times=(2, 3))
    t.prepare()
    assert t.valid() == []


def test_state_command_is_stored_not_set_as_attribute():
    """Assigning to a state's name binds its command; other unknown names are refused."""
    t = make_task(states=("a", "clean"))
    t.clean = "rm -f /tmp/x"
    assert t._commands == {"clean": "rm -f /tmp/x"}
    with pytest.raises(AttributeError, match="unknown attribute 'intreval'.*'interval'"):
        t.intreval = 3


def test_status_reason_names_the_condition_that_unmonitored_the_task(clock):
    """A condition that sends the task to unmonitored is named in snapshot's reason, with
    what it said."""
    t = make_task()
    with t.transition("a", "unmonitored") as on:
        on.condition(Script, script=[True])
    monitor(t, clock)
    assert t.state == "unmonitored"
    assert t.snapshot()["reason"] == "script: reading 1"


def test_status_reason_is_cleared_by_a_command(clock):
    """Monitoring again by command forgets the earlier cause."""
    t = make_task()
    with t.transition("a", "unmonitored") as on:
        on.condition(Script, script=[True, False])
    driver = monitor(t, clock)
    serve(driver, "monitor")
    serve(driver, "unmonitor")
    assert t.snapshot()["reason"] is None


@pytest.mark.integration
def test_state_shell_command_is_killed_at_command_timeout(clock, godlog):
    """A state's shell command that hangs is killed after command_timeout (the driver is
    never held for longer), and the log says so."""
    t = make_task(states=("a", "clean"))
    t.command_timeout = 0.2
    t.clean = "sleep 60"
    driver = monitor(t, clock)
    serve(driver, "move", "clean")
    assert t.state == "clean"
    assert "t clean command still running after 0.2s; killed" in messages(godlog, logging.WARNING)
