"""A bad ``depends_on`` is a config error at its line: from ``godpy check``, from the
daemon's start (nothing started), and from ``godpy load`` (the running config stays)."""

import json
import subprocess

import pytest
from cli_helpers import cli, config, kill_probes, live_pid, start_daemon, wait_all_up, watch
from conftest import GODPY

pytestmark = pytest.mark.system


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


def _sleeper(name, *lines):
    body = "".join(f"    {line}\n" for line in lines)
    return (
        f"with God.watch() as w:\n    w.name = {name!r}\n    w.start = 'sleep 300'\n"
        f"{body}    w.keepalive(interval=30)\n"
    )


#: db <-> app make a cycle; worker names a cache that does not exist
BAD = (
    _sleeper("db", "w.depends_on = 'app'")
    + _sleeper("app", "w.depends_on = ['db']")
    + _sleeper("cache")
    + _sleeper("worker", "w.depends_on = ['db', 'cahce']")
)


def _line(path, text):
    """The number of the line of file ``path`` that ends with ``text``."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.endswith(text))


def test_check_reports_a_cycle_and_an_unknown_name_at_their_lines(tmp_path):
    """`godpy check`: the unknown name with a did-you-mean, the cycle spelled out at the
    first line that makes it (naming the other), exit 1."""
    path = tmp_path / "app.god.py"
    path.write_text(config(tmp_path, BAD))
    out = cli("check", path)
    db, app, worker = (_line(path, end) for end in ("'app'", "['db']", "'cahce']"))
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == (
        f"godpy: {path}:{worker}: watch 'worker': depends_on names unknown watch or group 'cahce'; "
        "did you mean 'cache'?\n"
        f"godpy: {path}:{db}: watch 'db': depends_on makes a cycle: db -> app -> db "
        f"(the depends_on of app at line {app}); remove one of them\n"
        "godpy: 2 problems found\n"
    )


def test_check_accepts_a_graph_with_groups(tmp_path):
    """Dependencies on a watch and on a group: a good config, exit 0."""
    path = tmp_path / "app.god.py"
    path.write_text(
        config(
            tmp_path,
            _sleeper("db"),
            _sleeper("cache", "w.group = 'store'"),
            _sleeper("app", "w.depends_on = ['db', 'store']", "w.restart_with_dependencies = True"),
        )
    )
    out = cli("check", path)
    assert (out.returncode, out.stderr, out.stdout) == (
        0,
        "",
        "3 watches, 0 tasks, 0 contacts: ok\n",
    )


def test_daemon_refuses_to_start_with_a_cycle(tmp_path):
    """`godpy -c` on a cyclic graph: the cycle at its line, exit 1, nothing started."""
    path = tmp_path / "app.god.py"
    path.write_text(config(tmp_path, BAD))
    out = subprocess.run(
        [GODPY, "-c", str(path), "-D", "--no-events", "--socket", str(tmp_path / "s.sock")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stderr
    db = _line(path, "w.depends_on = 'app'")
    assert f"{path}:{db}: watch 'db': depends_on makes a cycle: db -> app -> db" in out.stderr
    assert "nothing was started" in out.stderr
    assert not (tmp_path / "pids").exists() or not list((tmp_path / "pids").iterdir())


def test_load_that_would_make_a_cycle_is_refused_and_the_old_config_runs_on(
    tmp_path, godpy_run, pids
):
    """Running: db, and app depending on it. `load` of a file where db depends on app
    (app left running) is refused at db's line; both keep their processes."""
    text = config(
        tmp_path, watch(tmp_path, "db"), watch(tmp_path, "app", lines=["w.depends_on = 'db'"])
    )
    run = start_daemon(godpy_run, text)
    wait_all_up(run.socket)
    before = {n: pids.add(live_pid(tmp_path, n)) for n in ("db", "app")}
    new = tmp_path / "new.god.py"
    new.write_text(config(tmp_path, watch(tmp_path, "db", lines=["w.depends_on = ['app']"])))
    line = _line(new, "w.depends_on = ['app']")
    old = _line(tmp_path / "app.god.py", "w.depends_on = 'db'")
    out = cli("load", new, socket=run.socket)
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr == (
        f"godpy: {new}:{line}: watch 'db': depends_on makes a cycle: db -> app -> db "
        f"(the depends_on of app at {tmp_path / 'app.god.py'}:{old}); remove one of them\n"
        "godpy: config not loaded; nothing changed\n"
    )
    rows = json.loads(cli("status", "--json", socket=run.socket).stdout)
    assert {r["name"]: r["pid"] for r in rows} == before


def test_load_stop_may_not_drop_a_watch_that_others_depend_on(tmp_path, godpy_run, pids):
    """`load FILE stop` where app still depends on db but the file drops db: db would be
    stopped and forgotten, so app's name is unknown; refused, nothing changed."""
    text = config(
        tmp_path, watch(tmp_path, "db"), watch(tmp_path, "app", lines=["w.depends_on = 'db'"])
    )
    run = start_daemon(godpy_run, text)
    wait_all_up(run.socket)
    new = tmp_path / "new.god.py"
    new.write_text(config(tmp_path, watch(tmp_path, "app", lines=["w.depends_on = 'db'"])))
    line = _line(new, "w.depends_on = 'db'")
    out = cli("load", new, "stop", socket=run.socket)
    assert out.returncode == 1
    assert out.stderr.startswith(
        f"godpy: {new}:{line}: watch 'app': depends_on names unknown watch or group 'db'\n"
    )
    assert len(json.loads(cli("status", "--json", socket=run.socket).stdout)) == 2
