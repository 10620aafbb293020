"""The dependency graph on its own: names resolved (groups expanded), bad names, self
dependencies and cycles reported at their lines, and start and stop orders."""

import pytest

from godpy.dependencies import Graph, names_of, plan, ready


class Node:
    """What the graph reads of a task: name, group, depends_on and its line."""

    def __init__(self, name, depends_on=None, group=None, line=1):
        self.name, self.group, self.depends_on, self.line = name, group, depends_on, line

    def line_of(self, attr):
        return f"app.god.py:{self.line}"

    def describe(self):
        return f"watch '{self.name}'"


def graph(*nodes):
    return Graph(nodes)


def test_names_of_takes_one_name_or_a_list():
    """A single string is one name; a list keeps its order without repeats."""
    assert names_of(None) == ()
    assert names_of("db") == ("db",)
    assert names_of(["db", "cache", "db"]) == ("db", "cache")


@pytest.mark.parametrize("bad", [3, ["db", 4], [""], {"db": 1}])
def test_names_of_refuses_anything_else(bad):
    """Numbers, empty names and dicts are refused with the value shown."""
    with pytest.raises(ValueError, match="depends_on must be a name or a list of names"):
        names_of(bad)


def test_a_group_name_means_every_task_in_it():
    """app depends on group 'store': both of its members, in declaration order."""
    g = graph(Node("db", group="store"), Node("cache", group="store"), Node("app", ["store"]))
    assert g.dependencies("app") == ["db", "cache"]
    assert g.dependents("db") == ["app"]
    assert g.problems() == []


def test_transitive_dependencies_and_dependents_come_in_start_order():
    """web -> app -> (db, cache); db -> disk: all the way down, and all the way up."""
    g = graph(
        Node("web", ["app"]),
        Node("app", ["db", "cache"]),
        Node("cache"),
        Node("db", "disk"),
        Node("disk"),
    )
    assert g.dependencies("web", transitive=True) == ["cache", "disk", "db", "app"]
    assert g.dependents("disk", transitive=True) == ["db", "app", "web"]
    assert g.dependents("web", transitive=True) == []
    assert g.dependencies("nosuch", transitive=True) == []


def test_layers_put_independent_branches_together():
    """Two independent chains start side by side, layer by layer; shutdown reverses."""
    g = graph(
        Node("app1", ["db", "cache"]),
        Node("app2", ["db", "cache"]),
        Node("db"),
        Node("cache"),
        Node("worker", ["queue"]),
        Node("queue"),
        Node("lonely"),
    )
    assert g.layers() == [["db", "cache", "queue", "lonely"], ["app1", "app2", "worker"]]
    assert g.shutdown_layers() == [["worker", "app2", "app1"], ["lonely", "queue", "cache", "db"]]


def test_layers_of_a_subset_count_only_dependencies_inside_it():
    """Starting app and its dependencies only: the unrelated queue is left out."""
    g = graph(Node("app", ["db"]), Node("db", ["disk"]), Node("disk"), Node("queue"))
    assert g.layers(["app", "db", "disk"]) == [["disk"], ["db"], ["app"]]
    assert g.layers(["app"]) == [["app"]]


def test_unknown_name_is_reported_at_its_line_with_a_suggestion():
    """'cahce' is close to 'cache'; 'nothing' is close to nothing."""
    g = graph(Node("cache"), Node("app", ["cahce", "nothing"], line=7))
    assert g.problems() == [
        "app.god.py:7: watch 'app': depends_on names unknown watch or group 'cahce'; "
        "did you mean 'cache'?",
        "app.god.py:7: watch 'app': depends_on names unknown watch or group 'nothing'",
    ]
    assert g.dependencies("app") == []


def test_a_task_may_not_depend_on_itself_or_its_own_group():
    """Both are refused; the rest of the graph stays usable."""
    g = graph(Node("a", "a", line=3), Node("b", ["web"], group="web", line=5))
    assert g.problems() == [
        "app.god.py:3: watch 'a': depends_on names itself; remove it",
        "app.god.py:5: watch 'b': depends_on names its own group 'web'; remove it",
    ]
    assert g.layers() == [["a", "b"]]


def test_a_bad_value_is_reported_at_its_line():
    """A number is not a name."""
    g = graph(Node("a", 5, line=4))
    assert g.problems() == [
        "app.god.py:4: watch 'a': depends_on must be a name or a list of names, got 5"
    ]


def test_a_cycle_is_spelled_out_at_its_first_task():
    """db -> app -> db: reported once, at db's line, naming app's line too."""
    g = graph(Node("db", ["app"], line=4), Node("app", ["db"], line=9), Node("x", ["db"]))
    assert g.problems() == [
        "app.god.py:4: watch 'db': depends_on makes a cycle: db -> app -> db "
        "(the depends_on of app at line 9); remove one of them"
    ]


def test_a_cycle_through_a_group_is_found():
    """a -> group g (b, c); c -> a: the shortest way round is a -> c -> a."""
    g = graph(
        Node("a", ["g"], line=2),
        Node("b", group="g"),
        Node("c", ["a"], group="g", line=8),
    )
    assert g.cycles() == [["a", "c", "a"]]


def test_a_longer_cycle_and_two_separate_ones():
    """Each knot of tasks gives one cycle, starting at its first declared task."""
    g = graph(Node("a", "b"), Node("b", "c"), Node("c", "a"), Node("x", "y"), Node("y", "x"))
    assert g.cycles() == [["a", "b", "c", "a"], ["x", "y", "x"]]
    assert len(g.problems()) == 2


def test_a_cycle_is_blamed_on_a_checked_task_only():
    """A reload: db (running, unchecked) and app (the new file's) make a cycle: the
    problem is at app's line, spelled from app."""
    g = graph(Node("db", ["app"], line=4), Node("app", ["db"], line=9))
    assert g.problems(checked={"app"}) == [
        "app.god.py:9: watch 'app': depends_on makes a cycle: app -> db -> app "
        "(the depends_on of db at line 4); remove one of them"
    ]
    assert graph(Node("db", ["nosuch"])).problems(checked=set()) == []


def test_layers_survive_a_cycle():
    """A cyclic graph never reaches the daemon, but ordering it still ends."""
    g = graph(Node("a", "b"), Node("b", "a"), Node("c"))
    assert g.layers() == [["c"], ["a", "b"]]


def test_duplicate_names_keep_the_first():
    """Two tasks of one name (a load problem of its own): the first one counts."""
    g = graph(Node("a", "b"), Node("b"), Node("a"))
    assert g.dependencies("a") == ["b"]


def test_a_deep_chain_needs_no_recursion():
    """3,000 tasks in a row: no RecursionError, one task per layer."""
    nodes = [Node(f"t{i}", f"t{i - 1}" if i else None) for i in range(3000)]
    g = Graph(nodes)
    assert g.problems() == []
    assert len(g.layers()) == 3000
    assert g.dependencies("t2999", transitive=True)[:2] == ["t0", "t1"]


# -- the steps of operator commands --------------------------------------------------------
def _shop():
    """db and cache (group store); app-0 and app-1 need both; web needs app-0."""
    return graph(
        Node("db"),
        Node("cache", group="store"),
        Node("app-0", ["db", "store"]),
        Node("app-1", ["db", "store"]),
        Node("web", "app-0"),
    )


def test_start_also_starts_the_dependencies_that_are_not_ready():
    """`start web`: app-0 and db are down, cache is ready: one step, dependencies too."""
    steps = plan(_shop(), "start", ["web"], monitored={"cache"}, ready_now={"cache"})
    assert steps == [[("start", "db"), ("start", "app-0"), ("start", "web")]]


def test_monitor_starts_dependencies_and_monitors_the_target():
    """`monitor app-1` with everything down."""
    steps = plan(_shop(), "monitor", ["app-1"], monitored=set(), ready_now=set())
    assert steps == [[("start", "db"), ("start", "cache"), ("monitor", "app-1")]]


def test_stop_stops_every_dependent_first_layer_by_layer():
    """`stop db`: web, then the apps, then db; cache is left alone."""
    everything = {"db", "cache", "app-0", "app-1", "web"}
    steps = plan(_shop(), "stop", ["db"], monitored=everything, ready_now=everything)
    assert steps == [[("stop", "web")], [("stop", "app-1"), ("stop", "app-0")], [("stop", "db")]]


def test_restart_bounces_the_monitored_dependents_only():
    """`restart db` with app-1 unmonitored: web and app-0 stop first, db restarts, and
    once it is back they start again; app-1 is left unmonitored."""
    monitored = {"db", "cache", "app-0", "web"}
    steps = plan(_shop(), "restart", ["db"], monitored=monitored, ready_now=monitored)
    assert steps == [
        [("stop", "web")],
        [("stop", "app-0")],
        [("restart", "db")],
        [("start", "app-0"), ("start", "web")],
    ]


def test_restart_of_a_whole_chain_restarts_the_bottom_and_bounces_the_rest():
    """`restart all`: what depends on another selected watch stops first and starts
    after; the rest restart."""
    everything = ["db", "cache", "app-0", "app-1", "web"]
    steps = plan(_shop(), "restart", everything, set(everything), set(everything))
    assert steps == [
        [("stop", "web")],
        [("stop", "app-1"), ("stop", "app-0")],
        [("restart", "db"), ("restart", "cache")],
        [("start", "app-0"), ("start", "app-1"), ("start", "web")],
    ]


def test_unmonitor_and_an_independent_watch_are_left_as_they_are():
    """No dependencies involved: one step, the command itself."""
    assert plan(_shop(), "unmonitor", ["db"], set(), set()) == [[("unmonitor", "db")]]
    assert plan(graph(Node("a")), "restart", ["a"], {"a"}, {"a"}) == [[("restart", "a")]]


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"kind": "watch", "state": "up", "pid": 5, "action": None}, True),
        ({"kind": "watch", "state": "up", "pid": 5, "action": "restarting"}, False),
        ({"kind": "watch", "state": "down", "pid": None, "action": None}, False),
        ({"kind": "watch", "state": "start", "pid": 5, "action": None}, False),
        ({"kind": "task", "state": "idle", "pid": None, "action": None}, True),
        ({"kind": "task", "state": "unmonitored", "pid": None, "action": None}, False),
    ],
)
def test_ready_means_up_with_a_live_process(row, expected):
    """A watch is ready when up with a pid and nothing in flight; a task when monitored."""
    assert ready(row) is expected
