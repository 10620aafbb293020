"""http_body: the page's body matches, or stops matching, a regular expression."""

import time

import pytest
from condition_kit import HttpStub, bound, config_problems, free_port
from godpy.conditions.http_body import HttpBody


@pytest.fixture
def server():
    stub = HttpStub()
    stub.body = b'{"status": "ok", "queue": 3}'
    yield stub
    stub.close()


def test_not_matches_fires_when_health_degrades(server):
    """A health page that stops saying ok triggers not_matches."""
    cond = bound(HttpBody, port=server.port, path="/health", not_matches=r'"status":\s*"ok"')
    assert cond.check() is False
    server.body = b'{"status": "degraded"}'
    assert cond.check() is True
    assert cond.info.startswith("http body does not match")
    assert "status 200" in cond.info


def test_matches_fires_on_an_error_page(server):
    """matches triggers when the expression appears, whatever the status."""
    cond = bound(HttpBody, port=server.port, matches="(?i)internal error")
    assert cond.check() is False
    server.status, server.body = 500, b"<h1>Internal Error</h1>"
    assert cond.check() is True


def test_no_answer_counts_only_for_not_matches():
    """Nobody listening: true for not_matches, false for matches."""
    port = free_port()
    assert bound(HttpBody, port=port, not_matches="ok", timeout=1).check() is True
    assert bound(HttpBody, port=port, matches="ok", timeout=1).check() is False


def test_only_max_bytes_are_read(server):
    """A marker beyond max_bytes is not seen."""
    server.body = b"x" * 5000 + b"MARKER"
    assert bound(HttpBody, port=server.port, matches="MARKER", max_bytes=1000).check() is False
    assert bound(HttpBody, port=server.port, matches="MARKER").check() is True


def test_hung_server_costs_no_more_than_timeout(server):
    """A server that never answers costs timeout, and counts as not matching."""
    server.delay = 30
    started = time.monotonic()
    assert bound(HttpBody, port=server.port, not_matches="ok", timeout=0.3).check() is True
    assert time.monotonic() - started < 20  # not stuck (the server hangs 30 s)


def test_trickling_server_costs_no_more_than_timeout(server):
    """A server that sends its headers a byte at a time is cut off at timeout."""
    server.trickle = 0.1
    started = time.monotonic()
    assert bound(HttpBody, port=server.port, not_matches="ok", timeout=0.5).check() is True
    assert time.monotonic() - started < 20  # not stuck (trickled for ever)


@pytest.mark.parametrize(
    "attrs, message",
    [
        ("port=80", "set exactly one of 'matches' and 'not_matches'"),
        ("matches='(unclosed'", "matches is not a regular expression: missing ), unterminated"),
        ("matches='ok', timeout=0", "timeout must be positive"),
    ],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake is reported against condition http_body."""
    text = config_problems(
        tmp_path, f'with w.restart_if() as on:\n    on.condition("http_body", {attrs})\n'
    )
    assert f"condition http_body: {message}" in text
