"""http_response_code: a real HTTP server that starts returning 500."""

import os
import shutil
import subprocess
import sys
import time

import pytest
from condition_kit import HttpStub, bound, config_problems, free_port
from conftest import read_pid, wait_until
from godpy.conditions.http_response_code import HttpResponseCode


@pytest.fixture
def server():
    stub = HttpStub()
    yield stub
    stub.close()


def check(server, **attrs):
    attrs.setdefault("timeout", 2)
    return bound(HttpResponseCode, port=server.port, **attrs)


def test_500_fires_code_is_not_200(server):
    """200 is nominal; a 500 is abnormal and starred in the readings."""
    cond = check(server, code_is_not=200, times=(1, 3))
    assert cond.check() is False
    assert cond.info == "http response nominal [200]"
    server.status = 500
    assert cond.check() is True
    assert cond.info == "http response abnormal [*500, 200]"


def test_code_is_accepts_int_str_and_lists(server):
    """code_is 500, "500" and [502, 500] all match a 500."""
    server.status = 500
    for codes in (500, "500", [502, "500"], range(500, 600)):
        assert check(server, code_is=codes).check() is True, codes
    assert check(server, code_is=[502, 503]).check() is False


def test_times_needs_two_bad_answers_of_three(server):
    """times=(2, 3): one 500 is not enough, the second is."""
    cond = check(server, code_is_not=200, times=(2, 3))
    server.status = 500
    assert cond.check() is False
    assert cond.check() is True


def test_refused_counts_only_for_code_is_not():
    """Nobody listening: abnormal with code_is_not, never with code_is."""
    port = free_port()
    cond = bound(HttpResponseCode, port=port, code_is_not=200, timeout=1)
    assert cond.check() is True
    assert cond.info == "http response abnormal [*ConnectionRefusedError]"
    assert bound(HttpResponseCode, port=port, code_is=500, timeout=1).check() is False


def test_hung_server_costs_no_more_than_timeout(server):
    """A server that never answers: the check gives up after timeout, as a failure."""
    server.delay = 30
    cond = check(server, code_is_not=200, timeout=0.3)
    started = time.monotonic()
    assert cond.check() is True
    assert time.monotonic() - started < 20  # not stuck (the server hangs 30 s)
    assert "TimeoutError" in cond.info


def test_trickling_server_costs_no_more_than_timeout(server):
    """A byte every 0.1 s never lets a recv time out: the deadline still holds."""
    server.trickle = 0.1
    cond = check(server, code_is_not=200, timeout=0.5)
    started = time.monotonic()
    assert cond.check() is True
    assert time.monotonic() - started < 20  # not stuck (trickled for ever)
    assert "TimeoutError" in cond.info


def test_path_and_headers_are_sent(server):
    """headers reach the server."""
    check(server, code_is_not=200, path="/health?x=1", headers={"X-Probe": "godpy"}).check()
    assert server.seen_headers.get("X-Probe") == "godpy"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_ssl_with_a_self_signed_certificate(tmp_path):
    """ssl=True talks TLS without verification; with ca_file the certificate is verified."""
    pem = tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(pem), "-out", str(pem)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    stub = HttpStub(certfile=str(pem))
    try:
        assert bound(HttpResponseCode, port=stub.port, ssl=True, code_is=200).check() is True
        verified = bound(HttpResponseCode, port=stub.port, ssl=True, ca_file=str(pem), code_is=200)
        assert verified.check() is True
        plain = bound(HttpResponseCode, port=stub.port, code_is_not=200, timeout=1)
        assert plain.check() is True  # plain HTTP to a TLS port is no answer
    finally:
        stub.close()


@pytest.mark.parametrize(
    "attrs, message",
    [
        ("port=80", "set exactly one of 'code_is' and 'code_is_not'"),
        ("code_is=200, code_is_not=500", "set exactly one of 'code_is' and 'code_is_not'"),
        ("code_is='OK'", "code_is must be a status code or a list of them, got 'OK'"),
        ("code_is=200, timeout=0", "timeout must be positive"),
    ],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake is reported against condition http_response_code."""
    text = config_problems(
        tmp_path, f'with w.restart_if() as on:\n    on.condition("http_response_code", {attrs})\n'
    )
    assert f"condition http_response_code: {message}" in text


# A web server whose answer is read from a file each time: the test "breaks" it.
WEB = """
import http.server, sys
status_file = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(int(open(status_file).read()))
        self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
"""

CONFIG = """
from godpy import God
God.pid_file_directory = {pids!r}
with God.watch() as w:
    w.name = "web"
    w.start = [{python!r}, {script!r}, {status!r}, "{port}"]
    w.interval = 0.1
    w.keepalive()
    with w.transition(["start", "restart"], "up") as on:  # up means ready to serve
        on.condition("port_listening", port={port})
    with w.restart_if() as on:
        on.condition("http_response_code", port={port}, code_is_not=200, times=(2, 3),
                     timeout=1)
"""


def test_daemon_restarts_a_server_that_returns_500(tmp_path, godpy_run, pids):
    """A real daemon restarts the web server once it answers 500 twice of three checks."""
    script, status, port = tmp_path / "web.py", tmp_path / "status", free_port()
    script.write_text(WEB)
    status.write_text("200")
    config = CONFIG.format(
        pids=str(tmp_path / "pids"),
        python=sys.executable,
        script=str(script),
        status=str(status),
        port=port,
    )
    run = godpy_run(config, "--no-events")
    pid_file = tmp_path / "pids" / "web.pid"
    first = pids.add(wait_until(lambda: read_pid(pid_file)))
    wait_until(lambda: bound(HttpResponseCode, port=port, code_is=200, timeout=1).check())
    (tmp_path / "status.new").write_text("500")
    os.replace(tmp_path / "status.new", status)  # never an empty file for the server
    run.wait_log("web [trigger] http response abnormal [*500, *500")
    run.wait_log("web move 'up' to 'restart'")
    wait_until(lambda: read_pid(pid_file) not in (None, first))
    pids.add(read_pid(pid_file))
    assert run.terminate() == 0
