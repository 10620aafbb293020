"""Config loading in-process: problems collected through the file at their own lines,
God.load globs, folders and globs as configs, the summary, and the held start-up log."""

import logging

import pytest

from godpy import config
from godpy.errors import ConfigError
from godpy.runner import HeldLog

HEAD = "from godpy import God\nGod.pid_file_directory = {pids!r}\n"
SLEEPER = (
    "with God.watch() as w:\n    w.name = {name!r}\n"
    '    w.start = "sleep 300"\n    w.keepalive(interval=30)\n'
)


def _write(path, text):
    path.write_text(text)
    path.chmod(0o644)
    return path


def _problems(path):
    """The problems ``config.check`` finds in ``path``."""
    with pytest.raises(ConfigError) as err:
        config.check(str(path), events=False)
    return err.value.problems


def test_a_bad_watch_does_not_stop_the_next_from_being_checked(tmp_path):
    """Set-time mistakes are recorded at their lines and the file goes on."""
    path = _write(
        tmp_path / "app.god.py",
        HEAD.format(pids=str(tmp_path / "pids"))
        + SLEEPER.format(name="a").replace("w.start", "w.strat")
        + 'God.use_event = False\nwith God.watch() as w:\n    w.name = "b"\n'
        '    w.start = "sleep 1"\n    w.stop_signal = "SIGNOPE"\n    w.keepalive()\n'
        '    with w.restart_if() as on:\n        on.condition("cpu_usge", above=5)\n',
    )
    problems = _problems(path)
    assert problems[0] == (
        f"{path}:5: unknown attribute 'strat' for watch 'a'; did you mean 'start'?"
    )
    assert problems[2].startswith(
        f"{path}:7: unknown setting God.use_event; did you mean 'use_events'?"
    )
    assert problems[3].startswith(f"{path}:11: watch 'b': stop_signal: ")
    assert problems[4].startswith(f"{path}:14: unknown condition 'cpu_usge'; did you mean")
    assert len(problems) == 5


def test_an_exception_ends_the_file_but_keeps_what_was_found(tmp_path):
    """A Python exception ends the file; earlier problems are all kept."""
    path = _write(
        tmp_path / "app.god.py",
        HEAD.format(pids=str(tmp_path / "pids"))
        + 'with God.watch() as w:\n    w.name = "a"\n    w.strat = 1\n'
        + "limits = {}\nlimits['web']\n"
        + 'with God.watch() as w:\n    w.name = "never"\n',
    )
    problems = _problems(path)
    assert (
        problems[0] == f"{path}:5: unknown attribute 'strat' for watch 'a'; did you mean 'start'?"
    )
    assert problems[-1] == f"{path}:7: KeyError: 'web'"
    assert not any("'never'" in p for p in problems)


def test_watch_interval_zero_is_an_error_at_its_line(tmp_path):
    """w.interval = 0 under keepalive is refused where it is set, not turned into 5 s."""
    path = _write(
        tmp_path / "app.god.py",
        HEAD.format(pids=str(tmp_path / "pids"))
        + 'with God.watch() as w:\n    w.name = "a"\n    w.start = "sleep 1"\n'
        "    w.interval = 0\n    w.keepalive()\n",
    )
    assert _problems(path) == [f"{path}:6: watch 'a': interval must be more than 0 seconds, got 0"]


def test_god_load_glob_runs_matches_sorted_and_returns_modules(tmp_path):
    """God.load with a glob runs each match in sorted order, from the calling file's
    folder, and returns their modules; a file it already ran is not run twice."""
    parts = tmp_path / "conf.d"
    parts.mkdir()
    for name in ("b", "a"):
        _write(parts / f"{name}.god.py", "from godpy import God\n" + SLEEPER.format(name=name))
    _write(parts / "notes.txt", "not python\n")
    path = _write(
        tmp_path / "app.god.py",
        HEAD.format(pids=str(tmp_path / "pids"))
        + 'mods = God.load("conf.d/*.god.py")\n'
        + 'assert God.load("conf.d/*.god.py") == mods\n'
        + "assert [m.__name__ for m in mods] == "
        + "['__godpy_config__.a', '__godpy_config__.b'], mods\n",
    )
    session = config.check(str(path), events=False)
    assert [t.name for t in session.tasks] == ["a", "b"]


def test_god_load_glob_matching_nothing_warns_at_its_line(tmp_path):
    """An empty glob is no error (conf.d may be empty) but a warning at the calling line."""
    path = _write(
        tmp_path / "app.god.py",
        HEAD.format(pids=str(tmp_path / "pids"))
        + 'assert God.load("conf.d/*.god.py") == []\n'
        + SLEEPER.format(name="a"),
    )
    session = config.check(str(path), events=False)
    assert session.warnings == [f"{path}:3: God.load('conf.d/*.god.py') matches no file"]


def test_a_folder_config_runs_each_file_even_after_one_fails(tmp_path):
    """-c DIR runs every *.god.py, sorted; an exception ends only its own file."""
    _write(tmp_path / "1.god.py", "from godpy import God\nraise RuntimeError('boom')\n")
    _write(tmp_path / "2.god.py", "from godpy import God\n" + SLEEPER.format(name="b"))
    _write(tmp_path / "skip.py", "raise SystemExit('not a config')\n")
    problems = _problems(tmp_path)
    assert problems == [f"{tmp_path / '1.god.py'}:2: RuntimeError: boom"]


@pytest.mark.parametrize(
    "arg, message",
    [("empty", "folder holds no *.god.py file"), ("*.nope", "no config file matches")],
)
def test_a_folder_or_glob_naming_no_file_is_refused(tmp_path, arg, message):
    """A folder without configs or a glob without matches is one clear line."""
    (tmp_path / "empty").mkdir()
    target = tmp_path / arg
    with pytest.raises(ConfigError) as err:
        config.check(str(target), events=False)
    assert err.value.problems == [f"{target}: {message}"]


@pytest.mark.parametrize(
    "counts, text",
    [
        ((3, 1, 2), "3 watches, 1 task, 2 contacts: ok"),
        ((1, 0, 1), "1 watch, 0 tasks, 1 contact: ok"),
    ],
)
def test_summary_counts_watches_tasks_and_contacts(tmp_path, counts, text):
    """The check summary names each count in the singular or plural."""
    watches, tasks, contacts = counts
    body = "".join(SLEEPER.format(name=f"w{i}") for i in range(watches))
    body += "".join(
        f'with God.task() as t:\n    t.name = "t{i}"\n    t.valid_states = ["x", "y"]\n'
        '    t.initial_state = "x"\n    t.interval = 5\n    t.transition("x", "y")\n'
        for i in range(tasks)
    )
    body += "".join(
        f'with God.contact("log") as c:\n    c.name = "c{i}"\n'
        f"    c.path = {str(tmp_path / 'n.jsonl')!r}\n"
        for i in range(contacts)
    )
    path = _write(tmp_path / "app.god.py", HEAD.format(pids=str(tmp_path / "pids")) + body)
    assert config.summary(config.check(str(path), events=False)) == text


def test_held_log_replays_in_order_once_released():
    """Records logged while held reach the handlers only on release, in order."""
    logger = logging.getLogger("godpy-test-held")
    logger.propagate, logger.level = False, logging.DEBUG
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    held = HeldLog(logger)
    logger.info("one")
    logger.warning("two")
    assert seen == []
    held.release()
    held.release()
    logger.info("three")
    assert seen == ["one", "two", "three"]


def test_held_log_released_at_a_level_drops_lower_records():
    """After a config error only warnings held back are passed on."""
    logger = logging.getLogger("godpy-test-held-level")
    logger.propagate, logger.level = False, logging.DEBUG
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    held = HeldLog(logger)
    logger.info("events: using netlink")
    logger.warning("loaded anyway")
    held.release(logging.WARNING)
    assert seen == ["loaded anyway"]
