"""Contacts in configs: God.contact(), notify names checked at the end of the load."""

import pytest

from godpy import config
from godpy.errors import ConfigError

HEAD = "from godpy import God\nGod.pid_file_directory = {pids!r}\n"
WATCH = """with God.watch() as w:
    w.name = "web"
    w.start = "sleep 100"
    w.interval = 5
    with w.transition("up", "start") as on:
        on.condition("process_running", running=False, notify={notify!r})
"""
TOM = """with God.contact("log") as c:
    c.name = "tom"
    c.group = "developers"
    c.path = "/tmp/godpy-notify.jsonl"
"""


def _load(tmp_path, body):
    path = tmp_path / "app.god.py"
    path.write_text(HEAD.format(pids=str(tmp_path / "pids")) + body)
    return path, config.load(str(path))


def _problems(tmp_path, body):
    path = tmp_path / "app.god.py"
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, body)
    return str(path), info.value.problems


def test_contacts_may_come_after_the_watches_that_name_them(tmp_path):
    """notify names a contact and a group defined further down: the config loads."""
    body = WATCH.format(notify=["tom", "developers"]) + TOM
    _path, session = _load(tmp_path, body)
    assert list(session.contacts) == ["tom"]
    contact = session.contacts["tom"]
    assert (contact.group, contact.timeout, contact.notify_interval) == ("developers", 10.0, None)


def test_unknown_notify_name_is_reported_at_the_condition_with_a_suggestion(tmp_path):
    """A misspelt contact name: file:line of the condition, a suggestion, the known names."""
    path, problems = _problems(tmp_path, WATCH.format(notify="tmo") + TOM)
    assert problems == [
        f"{path}:8: watch 'web': condition process_running: notify names unknown contact or "
        "group 'tmo'; did you mean 'tom'? (contacts: tom; groups: developers)"
    ]


def test_notify_dict_names_are_checked_too(tmp_path):
    """The {'contacts': [...], 'priority': ...} form is checked name by name."""
    notify = {"contacts": ["tom", "developrs"], "priority": 1}
    _path, problems = _problems(tmp_path, WATCH.format(notify=notify) + TOM)
    assert len(problems) == 1 and "'developrs'; did you mean 'developers'?" in problems[0]


def test_duplicate_contact_name_and_group_clashes(tmp_path):
    """Contact names are unique, and no group may share a contact's name: each problem
    at the line that set the name or the group."""
    body = TOM + TOM + TOM.replace('"tom"', '"ann"').replace('"developers"', '"tom"')
    path, problems = _problems(tmp_path, body)
    assert problems == [
        f"{path}:8: contact 'tom' (log): name already used at {path}:4",
        f"{path}:13: contact 'ann' (log): group 'tom' is a contact name",
    ]


def test_unknown_contact_kind_suggests_the_close_one(tmp_path):
    """God.contact("emial") names the line and suggests email."""
    path, problems = _problems(tmp_path, 'with God.contact("emial") as c:\n    c.name = "x"\n')
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:3: unknown contact 'emial'; did you mean 'email'?")


def test_attribute_typo_and_missing_required_attribute(tmp_path):
    """A typo is reported at its line; a missing to_email where the block starts."""
    body = 'with God.contact("email") as c:\n    c.name = "tom"\n    c.to_emial = "t@x"\n'
    path, problems = _problems(tmp_path, body)
    assert problems == [
        f"{path}:5: unknown attribute 'to_emial' for contact 'tom' (email); "
        "did you mean 'to_email'?",
        f"{path}:3: contact 'tom' (email): 'to_email' is required",
    ]
    path, problems = _problems(tmp_path, 'with God.contact("email") as c:\n    c.name = "tom"\n')
    assert problems == [f"{path}:3: contact 'tom' (email): 'to_email' is required"]


def test_notify_interval_setting_takes_durations(tmp_path):
    """God.notify_interval accepts "5min"; a negative one is refused at its line."""
    _path, session = _load(tmp_path, 'God.notify_interval = "5min"\n')
    assert session.settings["notify_interval"] == 300
    path, problems = _problems(tmp_path, "God.notify_interval = -1\n")
    assert problems == [f"{path}:3: God.notify_interval: duration must not be negative, got -1"]


def test_contact_is_part_of_the_public_api():
    """Plugin authors write `from godpy import Contact`."""
    import godpy
    from godpy.contact import Contact

    assert godpy.Contact is Contact and "Contact" in godpy.__all__


def test_example_notify_config_loads():
    """examples/notify.god.py is a valid config: three contacts in one group, 5 min interval."""
    import os

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    session = config.load(os.path.join(here, "examples", "notify.god.py"), events=True)
    assert sorted(session.contacts) == ["audit", "pager", "tom"]
    assert {c.group for c in session.contacts.values()} == {"developers"}
    assert session.settings["notify_interval"] == 300
