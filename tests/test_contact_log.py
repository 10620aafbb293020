"""log contact: one structured JSON line per notification, appended to a file."""

import json

from contact_servers import message
from godpy.contacts.log import Log


def test_appends_one_json_line_per_notification(tmp_path):
    """Each notification is one JSON object on its own line, every field present."""
    path = tmp_path / "notify.jsonl"
    contact = Log(name="audit", path=str(path))
    assert contact.notify(message()) == f"wrote to {path}"
    contact.notify(message(watch="db", suppressed=2))
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == message()
    second = json.loads(lines[1])
    assert (second["watch"], second["suppressed"]) == ("db", 2)
    assert list(second) == [
        "watch",
        "group",
        "message",
        "time",
        "priority",
        "category",
        "host",
        "condition",
        "contact",
        "suppressed",
    ]


def test_missing_folder_is_a_config_problem(tmp_path):
    """A path whose folder does not exist is reported when the config loads."""
    contact = Log(name="audit", path=str(tmp_path / "nope" / "x.log"))
    assert contact.valid() == [f"contact 'audit' (log): folder {tmp_path / 'nope'} does not exist"]
