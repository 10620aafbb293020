"""webhook contact: real POSTs to a real local HTTP server, JSON and form bodies checked."""

import json
import time
import urllib.parse

import pytest
from contact_servers import HttpSink, SilentServer, message
from godpy.contacts.webhook import Webhook

from godpy.contact import DeliveryError

FIELDS = ["watch", "group", "message", "time", "priority", "category", "host", "condition"]


def test_json_body_and_custom_headers():
    """format = "json": every message field in a JSON object, with the extra headers."""
    with HttpSink() as sink:
        hook = Webhook(name="pager", url=sink.url, format="json", headers={"X-Token": "abc"})
        assert hook.notify(message(suppressed=2)) == f"sent webhook to {sink.url} (HTTP 200)"
    [req] = sink.requests
    assert req["path"] == "/hook"
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["headers"]["X-Token"] == "abc"
    body = json.loads(req["body"])
    expected = message(suppressed=2)
    assert {k: body[k] for k in FIELDS} == {k: expected[k] for k in FIELDS}
    assert (body["contact"], body["suppressed"]) == ("ops", 2)


def test_form_body_is_gods_default():
    """Without format, the fields go as application/x-www-form-urlencoded (God's default)."""
    with HttpSink() as sink:
        Webhook(name="pager", url=sink.url).notify(message(group=None))
    [req] = sink.requests
    assert req["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(urllib.parse.parse_qsl(req["body"].decode(), keep_blank_values=True))
    assert form["message"] == message()["message"]
    assert (form["watch"], form["group"], form["priority"]) == ("web-8080", "", "1")
    assert (form["host"], form["category"], form["suppressed"]) == ("box1", "crash", "0")


def test_error_status_raises_with_the_answer():
    """A 5xx answer is a failure naming the status and the server's text."""
    with HttpSink(statuses=[503]) as sink, pytest.raises(DeliveryError, match="HTTP 503"):
        Webhook(name="pager", url=sink.url).notify(message())
    assert len(sink.requests) == 1


def test_silent_server_times_out_after_timeout():
    """A server that never answers costs one `timeout`, then the attempt fails."""
    with SilentServer() as silent:
        started = time.monotonic()
        with pytest.raises(OSError):
            Webhook(name="pager", url=silent.url, timeout=0.5).notify(message())
        took = time.monotonic() - started
    assert 0.4 < took < 30  # at least the timeout; not stuck (the server never answers)


def test_valid_checks_url_format_and_headers():
    """Bad url scheme, format and headers are config problems."""
    hook = Webhook(name="pager", url="ftp://x", format="xml", headers=["a"])
    assert hook.valid() == [
        "contact 'pager' (webhook): url must start with http:// or https://",
        "contact 'pager' (webhook): format must be 'json' or 'form'",
        "contact 'pager' (webhook): headers must be a dict",
    ]
    assert Webhook(name="pager").valid() == ["contact 'pager' (webhook): 'url' is required"]


def test_credentials_in_the_url_are_refused_without_echoing_them():
    """user:password@ in a URL is never sent (urllib cannot), and the config problem names
    neither: the password must not reach a log."""
    hook = Webhook(name="pager", url="https://bob:pw-TOPSECRET@hooks.example.com/x")
    (problem,) = hook.valid()
    assert problem.startswith("contact 'pager' (webhook): url holds credentials")
    assert "TOPSECRET" not in problem and "bob" not in problem
