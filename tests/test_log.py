"""godpy.log: URLs are redacted in every formatted line; the daemon's log file is 0600."""

import logging
import os
import stat
import sys

import pytest

from godpy.contact import scrub
from godpy.log import GodFormatter, PrivateFileHandler, redact_url, redact_urls

SLACK = "https://hooks.slack.com/services/T0001/B0002/s3cr3tT0k3n"


@pytest.mark.parametrize(
    "url, shown",
    [
        (SLACK, "https://hooks.slack.com/services/…"),
        ("https://bob:pa55@h.example:8443/hook?token=k3y", "https://h.example:8443/hook?…"),
        ("https://bob:pa/55@h.example/a/b", "https://h.example/a/…"),
        ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
        ("http://h.example/x#k3y", "http://h.example/x?…"),
        ("http://h.example", "http://h.example"),
    ],
)
def test_redact_url_keeps_host_and_first_segment_only(url, shown):
    """Userinfo, query, fragment and path past the first segment are dropped."""
    assert redact_url(url) == shown


def test_redact_urls_in_a_sentence_keeps_the_punctuation():
    """URLs inside text are redacted in place; a closing bracket or comma stays."""
    text = f"failed ({SLACK}), then 'http://u:p@h/x/y'."
    assert redact_urls(text) == "failed (https://hooks.slack.com/services/…), then 'http://h/x/…'."


def test_a_logged_webhook_url_shows_no_token_even_in_a_traceback():
    """GodFormatter redacts the message and the traceback, whoever logged the URL."""
    try:
        raise ValueError(f"cannot post to {SLACK}")
    except ValueError:
        record = logging.LogRecord(
            "godpy", logging.ERROR, __file__, 1, "hook %s failed", (SLACK,), sys.exc_info()
        )
    line = GodFormatter().format(record)
    assert "s3cr3tT0k3n" not in line and "T0001" not in line
    assert "hook https://hooks.slack.com/services/… failed" in line
    assert "ValueError: cannot post to https://hooks.slack.com/services/…" in line


def test_scrub_hides_url_secrets_a_server_echoes():
    """A server answer quoting the request path or query loses the secret parts."""
    url = "https://bob:pa55@h.example/services/T0001/B0002?key=k3y"
    text = scrub("no hook /services/T0001/B0002?key=k3y for bob:pa55", url)
    assert "T0001" not in text and "k3y" not in text and "pa55" not in text


def test_log_file_is_created_0600_under_umask_022(tmp_path):
    """A new log file is private whatever the umask; reopening keeps it so."""
    old = os.umask(0o022)
    try:
        handler = PrivateFileHandler(str(tmp_path / "godpy.log"))
    finally:
        os.umask(old)
    try:
        handler.emit(logging.LogRecord("godpy", logging.INFO, __file__, 1, "hello", (), None))
        assert stat.S_IMODE(os.stat(tmp_path / "godpy.log").st_mode) == 0o600
        os.rename(tmp_path / "godpy.log", tmp_path / "rotated.log")
        handler._checked = float("-inf")  # the file is looked at once a second: due now
        handler.emit(logging.LogRecord("godpy", logging.INFO, __file__, 1, "again", (), None))
        assert stat.S_IMODE(os.stat(tmp_path / "godpy.log").st_mode) == 0o600
        assert (tmp_path / "godpy.log").read_text() == "again\n"
    finally:
        handler.close()
