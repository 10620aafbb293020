"""Watch without processes: the metrics keepalive installs per state, and simple mode."""

import pytest

from godpy.condition import EventCondition, PollCondition
from godpy.driver import Driver
from godpy.errors import AttributeProblem
from godpy.process import Children
from godpy.watch import Watch


def summary(cond):
    """(plugin name, the keepalive-relevant attributes the condition declares)."""
    keys = ("running", "above", "times", "interval")
    return cond.plugin_name, {k: getattr(cond, k) for k in keys if k in type(cond)._declared}


def wiring(w):
    """State -> [(destination, [condition summaries])] for every declared metric."""
    return {
        state: [(m.destination, [summary(c) for c in m.conditions]) for m in metrics]
        for state, metrics in w.metrics.items()
    }


def build(tmp_path, events, *keepalive_args, watch_attrs=None, **keepalive):
    """A watch with keepalive(...), built and prepared; None for no keepalive call."""
    w = Watch(name="w", start="sleep 1", **(watch_attrs or {}))
    w._events_enabled = events
    if keepalive_args != (None,):
        w.keepalive(*keepalive_args, **keepalive)
    w.build(str(tmp_path), Children())
    w.prepare()
    return w


RUNNING = ("process_running", {"running": True, "times": 1, "interval": 5.0})
NOT_RUNNING = ("process_running", {"running": False, "times": 1, "interval": 5.0})
#: with exit events, up's poll is only a safety net: once a minute
SAFETY_NET = ("process_running", {"running": False, "times": 1, "interval": 60.0})
EXITS = ("process_exits", {})


BACK_TO_START = ({True: "up", False: "start"}, [RUNNING])


def test_keepalive_with_events(tmp_path):
    """Events: init, start and restart go up when running and back to start when not (a
    start that did not come up never stalls); up -> start on process_exits, with a
    process_running(running=False) poll once a minute as a safety net."""
    w = build(tmp_path, True)
    assert wiring(w) == {
        "init": [BACK_TO_START],
        "start": [BACK_TO_START],
        "restart": [BACK_TO_START],
        "up": [({True: "start"}, [EXITS, SAFETY_NET])],
    }
    assert w.metrics["start"][0] is w.metrics["restart"][0] is w.metrics["init"][0]
    exits, safety = w.metrics["up"][0].conditions
    assert isinstance(exits, EventCondition)
    assert isinstance(safety, PollCondition)
    assert w.valid() == []


def test_keepalive_without_events(tmp_path):
    """No events: the same, with only the process_running(running=False) poll in up."""
    w = build(tmp_path, False)
    assert wiring(w) == {
        "init": [BACK_TO_START],
        "start": [BACK_TO_START],
        "restart": [BACK_TO_START],
        "up": [({True: "start"}, [NOT_RUNNING])],
    }
    assert w.valid() == []


@pytest.mark.parametrize("events", [True, False])
def test_keepalive_limits_restart_from_up(tmp_path, events):
    """memory_max and cpu_max add up -> restart memory_usage/cpu_usage, times (3, 5),
    with the limits converted to kilobytes and percent."""
    w = build(tmp_path, events, memory_max="150MB", cpu_max="50%")
    restart = w.metrics["up"][-1]
    assert (restart.destination, [summary(c) for c in restart.conditions]) == (
        {True: "restart"},
        [
            ("memory_usage", {"above": 153600.0, "times": (3, 5), "interval": 5.0}),
            ("cpu_usage", {"above": 50.0, "times": (3, 5), "interval": 5.0}),
        ],
    )
    assert [c._times for c in restart.conditions] == [(3, 5), (3, 5)]
    assert len(w.metrics["up"]) == 2
    assert w.valid() == []


def test_keepalive_memory_only(tmp_path):
    """Only memory_max: the restart metric holds memory_usage alone."""
    w = build(tmp_path, False, memory_max=100_000)
    restart = w.metrics["up"][-1]
    assert [summary(c) for c in restart.conditions] == [
        ("memory_usage", {"above": 100_000, "times": (3, 5), "interval": 5.0})
    ]


def test_keepalive_cpu_only_with_own_times(tmp_path):
    """Only cpu_max, with cpu_times: the restart metric holds cpu_usage with those times."""
    w = build(tmp_path, False, cpu_max=80, cpu_times=(2, 4))
    restart = w.metrics["up"][-1]
    assert [summary(c) for c in restart.conditions] == [
        ("cpu_usage", {"above": 80, "times": (2, 4), "interval": 5.0})
    ]
    assert restart.conditions[0]._times == (2, 4)


def test_keepalive_without_limits_has_no_restart_metric(tmp_path):
    """No limits: nothing moves up -> restart."""
    w = build(tmp_path, True)
    assert all(m.destination != {True: "restart"} for m in w.metrics["up"])


@pytest.mark.parametrize(
    "keepalive, watch_attrs, expected",
    [({}, {}, 5.0), ({}, {"interval": "7s"}, 7.0), ({"interval": "1min"}, {"interval": 7}, 60.0)],
)
def test_keepalive_interval(tmp_path, keepalive, watch_attrs, expected):
    """Intervals: keepalive's own, else the watch's, else 5 seconds; with exit events,
    up's safety-net poll runs every 60 seconds unless the interval is longer."""
    w = build(tmp_path, True, watch_attrs=watch_attrs, memory_max="1MB", **keepalive)
    polls = {
        (state, type(c).__name__): c.interval
        for state, _m, c in w.each_condition()
        if isinstance(c, PollCondition)
    }
    assert polls == {
        ("init", "ProcessRunning"): expected,
        ("up", "ProcessRunning"): max(expected, 60.0),
        ("up", "MemoryUsage"): expected,
    }


def test_keepalive_bad_limit_is_an_attribute_problem():
    """A bad limit raises at the keepalive() call, naming the watch and the value."""
    w = Watch(name="w", start="sleep 1")
    with pytest.raises(AttributeProblem) as err:
        w.keepalive(memory_max="lots")
    assert str(err.value).startswith("watch 'w': keepalive: bad memory size 'lots'")


def test_no_keepalive_no_metrics(tmp_path):
    """Without keepalive() a watch has no metrics at all."""
    w = build(tmp_path, True, None)
    assert w.metrics == {}


# -- simple mode -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "to, landed",
    [("start", "up"), ("restart", "up"), ("stop", "stop"), ("init", "init"), ("up", "up")],
)
def test_simple_mode_lands_in_up(tmp_path, to, landed):
    """Without metrics on start/restart, those states land in up (God's simple mode)."""
    w = build(tmp_path, True, None)
    assert w.landing_state(to) == landed


def test_states_with_metrics_are_entered(tmp_path):
    """With keepalive's events wiring, start and restart are real states."""
    w = build(tmp_path, True)
    assert w.landing_state("start") == "start"
    assert w.landing_state("restart") == "restart"


def test_polling_keepalive_checks_that_a_start_came_up(tmp_path):
    """Polling keepalive also puts its metric on start: a start that dies at once is seen."""
    w = build(tmp_path, False)
    assert w.landing_state("start") == "start"


def test_user_transition_on_start_disables_simple_mode(tmp_path):
    """A user's own transition from start makes start a real state."""
    w = Watch(name="w", start="sleep 1")
    with w.transition("start", "up") as on:
        on.condition("always", what=True)
    assert w.landing_state("start") == "start"
    assert w.landing_state("restart") == "up"


# -- monitor, without running any poll ----------------------------------------------------------
def monitor_only(w, clock):
    """Send "monitor" and serve just that operation (no condition is tested)."""
    driver = Driver(w, clock=clock)
    w.attach_runtime(driver)
    driver.message("monitor")
    driver.dispatch(driver.pop(block=False))
    return driver


def test_monitor_enters_init_when_it_has_conditions(tmp_path, clock):
    """With keepalive's events wiring, monitoring starts in init, its poll due at once."""
    w = build(tmp_path, True)
    driver = monitor_only(w, clock)
    assert w.state == "init"
    (running,) = w.metrics["init"][0].conditions
    assert driver.due_in(running) == 0
    assert driver.pending() == 1


def test_monitor_enters_up_without_init_conditions(tmp_path, clock):
    """A watch whose only transition leaves up: monitoring starts in up, its poll due."""
    w = Watch(name="w", start="sleep 1", interval=5)
    with w.start_if() as on:
        not_running = on.condition("process_running", running=False)
    w.build(str(tmp_path), Children())
    w.prepare()
    driver = monitor_only(w, clock)
    assert w.state == "up"
    assert driver.due_in(not_running) == 0
