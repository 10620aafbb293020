"""The graph of ``depends_on`` between tasks: names resolved, problems found, orders given.

Pure: it reads each task's ``name``, ``group``, ``depends_on`` and the line that set
``depends_on`` (``line_of``), and never touches a process. A group name stands for every
task in that group. The daemon's main loop owns one ``Graph`` of its running tasks.
"""

from __future__ import annotations

from collections.abc import Iterable

from godpy.configurable import suggest


def names_of(value) -> tuple[str, ...]:
    """``depends_on`` as a tuple of names: None -> (), ``"db"`` -> ("db",).

    Raises:
        ValueError: ``value`` is neither a name nor a list of names.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(n, str) and n for n in value):
        raise ValueError(f"depends_on must be a name or a list of names, got {value!r}")
    return tuple(dict.fromkeys(value))


class Graph:
    """Who depends on whom among ``tasks`` (first task of a name wins, as at load).

    Args:
        tasks: objects with ``name``, ``group``, ``depends_on`` and ``line_of(attr)``,
            in declaration order (the order within a layer).
    """

    def __init__(self, tasks: Iterable):
        self.tasks: dict = {}
        self.groups: dict[str, list[str]] = {}
        for task in tasks:
            if task.name is not None and task.name not in self.tasks:
                self.tasks[task.name] = task
                if task.group is not None:
                    self.groups.setdefault(task.group, []).append(task.name)
        self._order = {name: i for i, name in enumerate(self.tasks)}
        self._direct = {name: self._resolve(task) for name, task in self.tasks.items()}
        self._reverse: dict[str, list[str]] = {name: [] for name in self.tasks}
        for name, deps in self._direct.items():
            for dep in deps:
                self._reverse[dep].append(name)

    def _resolve(self, task) -> tuple[str, ...]:
        """The known names ``task`` depends on (groups expanded, itself left out)."""
        try:
            declared = names_of(getattr(task, "depends_on", None))
        except ValueError:
            return ()
        found: list[str] = []
        for name in declared:
            found += [name] if name in self.tasks else self.groups.get(name, [])
        return tuple(n for n in dict.fromkeys(found) if n != task.name)

    # -- problems ------------------------------------------------------------------------
    def problems(self, checked: Iterable[str] | None = None) -> list[str]:
        """``file:line: text`` for each bad name, self-dependency and cycle, at the line
        that set ``depends_on``. ``checked``: the names whose lines may be blamed (a
        reload's new tasks; default all): a cycle is reported at its first such task."""
        checked = set(self.tasks if checked is None else checked)
        found = []
        for name, task in self.tasks.items():
            if name in checked:
                found += [f"{task.line_of('depends_on')}: {text}" for text in self._names(task)]
        for cycle in self.cycles():
            blamed = next((n for n in cycle if n in checked), None)
            if blamed is not None:
                turn = cycle.index(blamed)
                found.append(self._cycle_problem(cycle[turn:-1] + cycle[: turn + 1]))
        return found

    def _names(self, task) -> list[str]:
        """What is wrong with the names ``task`` gives (not cycles)."""
        where = task.describe()
        try:
            declared = names_of(getattr(task, "depends_on", None))
        except ValueError as exc:
            return [f"{where}: {exc}"]
        texts = []
        for name in declared:
            if name == task.name or (name == task.group and name in self.groups):
                what = "itself" if name == task.name else f"its own group '{name}'"
                texts.append(f"{where}: depends_on names {what}; remove it")
            elif name not in self.tasks and name not in self.groups:
                known = (set(self.tasks) | set(self.groups)) - {task.name}
                texts.append(
                    f"{where}: depends_on names unknown watch or group '{name}'"
                    f"{suggest(name, known)}"
                )
        return texts

    def _cycle_problem(self, cycle: list[str]) -> str:
        """The cycle spelled out, at its first task's line, naming the other lines."""
        first = self.tasks[cycle[0]]
        where = first.line_of("depends_on")
        others = ", ".join(
            f"{n} at {_short(self.tasks[n].line_of('depends_on'), where)}" for n in cycle[1:-1]
        )
        return (
            f"{where}: {first.describe()}: depends_on makes a cycle: "
            f"{' -> '.join(cycle)} (the depends_on of {others}); remove one of them"
        )

    def cycles(self) -> list[list[str]]:
        """One cycle per knot of mutually dependent tasks, as ``[a, b, a]``, starting at
        the knot's first declared task."""
        found = []
        for component in self._components():
            if len(component) > 1:
                found.append(self._cycle_through(component[0], set(component)))
        return found

    def _cycle_through(self, start: str, within: set[str]) -> list[str]:
        """The shortest path from ``start`` back to itself inside ``within`` (BFS)."""
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier:
            following = []
            for node in frontier:
                for dep in self._direct[node]:
                    if dep == start:
                        path = [node]
                        while path[-1] != start:
                            path.append(previous[path[-1]])
                        return [start, *reversed(path[:-1]), start]
                    if dep in within and dep not in previous:
                        previous[dep] = node
                        following.append(dep)
            frontier = following
        return [start, start]

    def _components(self) -> list[list[str]]:
        """Strongly connected components (Tarjan, iterative), members in declaration order."""
        order = {name: i for i, name in enumerate(self.tasks)}
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        result = []
        for root in self.tasks:
            if root in index:
                continue
            work = [(root, iter(self._direct[root]))]
            index[root] = low[root] = len(index)
            stack.append(root)
            on_stack.add(root)
            while work:
                node, deps = work[-1]
                dep = next(deps, None)
                if dep is None:
                    work.pop()
                    if work:
                        low[work[-1][0]] = min(low[work[-1][0]], low[node])
                    if low[node] == index[node]:
                        members = []
                        while True:
                            member = stack.pop()
                            on_stack.discard(member)
                            members.append(member)
                            if member == node:
                                break
                        result.append(sorted(members, key=order.__getitem__))
                elif dep not in index:
                    index[dep] = low[dep] = len(index)
                    stack.append(dep)
                    on_stack.add(dep)
                    work.append((dep, iter(self._direct[dep])))
                elif dep in on_stack:
                    low[node] = min(low[node], index[dep])
        return result

    # -- orders --------------------------------------------------------------------------
    def dependencies(self, name: str, transitive: bool = False) -> list[str]:
        """What ``name`` depends on: directly, or all the way down (in start order)."""
        if not transitive:
            return list(self._direct.get(name, ()))
        return self._closure([name], self._direct)

    def dependents(self, name: str, transitive: bool = False) -> list[str]:
        """What depends on ``name``: directly, or all the way up (in start order)."""
        if not transitive:
            return list(self._reverse.get(name, ()))
        return self._closure([name], self._reverse)

    def _closure(self, names: list[str], edges: dict) -> list[str]:
        seen: set[str] = set()
        todo = [n for n in names if n in edges]
        while todo:
            for nxt in edges[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        seen -= set(names)
        return [n for layer in self.layers(seen) for n in layer] if seen else []

    def layers(self, names: Iterable[str] | None = None) -> list[list[str]]:
        """Start order of ``names`` (default all): each layer only after the ones before
        it; the tasks of a layer may start in parallel. A task's layer counts only the
        dependencies among ``names``. Tasks caught in a cycle come last, together."""
        chosen = set(self.tasks) if names is None else {n for n in names if n in self.tasks}
        order = self._order
        waiting = {n: sum(d in chosen for d in self._direct[n]) for n in chosen}
        layer = sorted((n for n, count in waiting.items() if not count), key=order.__getitem__)
        layers = []
        while layer:
            layers.append(layer)
            following = []
            for name in layer:
                for user in self._reverse[name]:
                    if user in chosen:
                        waiting[user] -= 1
                        if not waiting[user]:
                            following.append(user)
            layer = sorted(following, key=order.__getitem__)
        stuck = sorted((n for n, count in waiting.items() if count), key=order.__getitem__)
        # stuck: a cycle (refused at load)
        return layers + [stuck] if stuck else layers

    def shutdown_layers(self, names: Iterable[str] | None = None) -> list[list[str]]:
        """Stop order: the start order reversed (dependents before what they need)."""
        return [list(reversed(layer)) for layer in reversed(self.layers(names))]


def _short(where: str, near: str) -> str:
    """``line 14`` for a ``file:14`` in the same file as ``near``, else ``where``."""
    file, _, line = where.rpartition(":")
    return f"line {line}" if file and file == near.rpartition(":")[0] else where


def ready(row: dict) -> bool:
    """Whether a task is ready for its dependents, from its status row (``snapshot``):
    up with a live process, no action in flight, and nothing it is still waiting for
    (``not_ready``: sd_notify's READY=1, a ``ready_if`` check); a task: monitored. The
    one place that decides readiness."""
    if row.get("kind", "watch") != "watch":
        return row["state"] != "unmonitored"
    return (
        row["state"] == "up"
        and bool(row.get("pid"))
        and not row.get("action")
        and not row.get("not_ready")
    )


def plan(graph: Graph, command: str, selected: list[str], monitored: set[str], ready_now: set[str]):
    """The steps of an operator command on ``selected``, dependencies respected.

    Each step is a list of (command, name) sent together; a step's outcomes are awaited
    before the next. ``start``/``monitor`` also start the dependencies that are not
    ready (a held watch waits for them itself); ``stop`` stops every dependent first,
    layer by layer; ``restart`` stops the monitored dependents first, restarts what
    was selected, and once it is up starts those dependents again.

    Args:
        graph: the running tasks' graph.
        command: one of start, monitor, stop, restart, unmonitor.
        selected: the names the operator gave (a watch, a group or all).
        monitored: names not unmonitored now.
        ready_now: names ready now.
    """
    chosen = set(selected)
    if command in ("start", "monitor"):
        needed = {d for n in selected for d in graph.dependencies(n, transitive=True)}
        extra = [n for n in graph.tasks if n in needed - chosen - ready_now]
        return [[("start", n) for n in extra] + [(command, n) for n in selected]]
    if command == "stop":
        above = {d for n in selected for d in graph.dependents(n, transitive=True)}
        return [[("stop", n) for n in layer] for layer in graph.shutdown_layers(chosen | above)]
    if command == "restart":
        above = {d for n in selected for d in graph.dependents(n, transitive=True)}
        bounced = (above - chosen) & monitored | (above & chosen)
        first = [n for n in selected if n not in bounced]
        stops = [[("stop", n) for n in layer] for layer in graph.shutdown_layers(bounced)]
        again = [("start", n) for layer in graph.layers(bounced) for n in layer]
        # they start only once it is back: sent together, a dependent could see the old
        # process still up before the restart began
        return stops + [[("restart", n) for n in first]] + ([again] if again else [])
    return [[(command, n) for n in selected]]
