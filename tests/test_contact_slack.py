"""slack contact: the incoming-webhook payload, posted to a real local HTTP server."""

import json

from contact_servers import HttpSink, message
from godpy.contacts.slack import Slack


def _posted(sink):
    [req] = sink.requests
    assert req["headers"]["Content-Type"] == "application/json"
    return json.loads(req["body"])


def test_payload_with_channel_username_and_emoji():
    """channel, username and emoji become channel, username and icon_emoji; text is God's."""
    with HttpSink() as sink:
        contact = Slack(name="chat", url=sink.url, channel="#ops", username="godpy", emoji=":fire:")
        assert contact.notify(message()) == "sent slack message to #ops (HTTP 200)"
    assert _posted(sink) == {
        "link_names": 1,
        "text": "1 alert on box1: web-8080 [trigger] process 4242 exited with code 1 "
        "(ProcessExits) (crash, 2026-11-22T04:37:24+00:00)",
        "channel": "#ops",
        "username": "godpy",
        "icon_emoji": ":fire:",
    }


def test_defaults_leave_the_webhook_settings_alone():
    """Unset channel/username/emoji are not sent; missing priority and category get words."""
    with HttpSink() as sink:
        Slack(name="chat", url=sink.url).notify(message(priority=None, category=None))
    body = _posted(sink)
    assert set(body) == {"link_names", "text"}
    assert body["text"].startswith("normal alert on box1: ")
    assert "(godpy, 2026-11-22T04:37:24+00:00)" in body["text"]


def test_notify_channel_format_and_suppressed_count():
    """notify_channel prefixes <!channel>; the suppressed count reaches the text."""
    with HttpSink() as sink:
        contact = Slack(name="chat", url=sink.url, notify_channel=True, format="{watch}: {message}")
        contact.notify(message(message="web-8080 is flapping", suppressed=1))
    assert _posted(sink)["text"] == (
        "<!channel> web-8080: web-8080 is flapping (1 similar notification suppressed)"
    )
