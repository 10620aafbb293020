"""Notifications through a real daemon: a hanging contact never delays a restart; email to a
real SMTP server; `godpy notify-test`; config errors for unknown contacts."""

import os
import signal
import subprocess

import pytest
from conftest import GODPY, PROBE, alive, needs_root, read_pid, wait_until
from contact_servers import HttpSink, SilentServer, SmtpServer

WATCH = """
import sys
from godpy import God
God.pid_file_directory = {pids!r}
with God.watch() as w:
    w.name = "probe"
    w.start = [sys.executable, {probe!r}, {rec!r}]
    w.interval = {interval}
    with w.transition("init", {{True: "up", False: "start"}}) as on:
        on.condition("process_running", running=True)
    with w.transition(["start", "restart"], "up") as on:
        on.condition("process_running", running=True)
    with w.transition("up", "start") as on:
        {exit_condition}
"""
EXITS = 'on.condition("process_exits", notify="ops")'
NOT_RUNNING = 'on.condition("process_running", running=False, notify="ops")'


def _config(tmp_path, contacts, exit_condition=EXITS, interval=30):
    rec = str(tmp_path / "probe.rec")
    text = WATCH.format(
        pids=str(tmp_path / "pids"),
        probe=PROBE,
        rec=rec,
        interval=interval,
        exit_condition=exit_condition,
    )
    return text + contacts


def _pid(tmp_path):
    return read_pid(tmp_path / "pids" / "probe.pid")


def _kill_and_wait_for_restart(tmp_path, run, pids):
    old = wait_until(lambda: _pid(tmp_path) and alive(_pid(tmp_path)) and _pid(tmp_path))
    pids.add(old)
    run.wait_log("probe move 'start' to 'up'")
    os.kill(old, signal.SIGKILL)
    new = wait_until(lambda: _pid(tmp_path) not in (None, old) and _pid(tmp_path), timeout=10)
    pids.add(new)
    wait_until(lambda: alive(new))
    return old, new


@pytest.mark.parametrize(
    "events",
    [pytest.param(True, marks=needs_root, id="exit-event"), pytest.param(False, id="polling")],
)
def test_contact_that_never_answers_does_not_delay_the_restart(tmp_path, godpy_run, pids, events):
    """The webhook server accepts and never answers: the process is restarted while the
    notification is still in flight (its timeout, 60 s, has not passed)."""
    with SilentServer() as silent:
        contacts = (
            'with God.contact("webhook") as c:\n'
            f'    c.name = "ops"\n    c.url = {silent.url!r}\n    c.timeout = 60\n'
        )
        if events:
            run = godpy_run(_config(tmp_path, contacts))
            run.wait_log("events: using netlink")
        else:
            cfg = _config(tmp_path, contacts, exit_condition=NOT_RUNNING, interval=0.2)
            run = godpy_run(cfg, "--no-events")
        old, new = _kill_and_wait_for_restart(tmp_path, run, pids)
        wait_until(lambda: silent.received and b"POST /hook" in silent.received[0])
        assert b"probe" in silent.received[0]
        text = run.text()
        wait_until(
            lambda: "probe move 'start' to 'up'" in run.text().split("probe [trigger]", 1)[1],
            what="up again while the notification hangs",
        )
        assert "notified 'ops'" not in text and "notification to 'ops' failed" not in text
        assert run.terminate() == 0
    assert old != new


def test_restart_is_emailed_to_the_group(tmp_path, godpy_run, pids):
    """A restart by polling sends an email to every member of the named group."""
    with SmtpServer() as smtp:
        contacts = (
            'with God.contact("email") as c:\n    c.name = "tom"\n    c.group = "ops"\n'
            f'    c.to_email = "tom@example.com"\n    c.server_host = "127.0.0.1"\n'
            f"    c.server_port = {smtp.port}\n"
        )
        cfg = _config(tmp_path, contacts, exit_condition=NOT_RUNNING, interval=0.2)
        run = godpy_run(cfg, "--no-events")
        _kill_and_wait_for_restart(tmp_path, run, pids)
        wait_until(lambda: smtp.messages, timeout=10)
        run.wait_log("probe notified 'tom': sent email to tom@example.com via smtp (Email)")
        assert run.terminate() == 0
    [(_from, rcpt, mail)] = smtp.messages
    assert rcpt == ["tom@example.com"]
    assert mail["Subject"].startswith("[godpy] probe [trigger] process is not running")
    assert "Watch: probe" in mail.get_content().splitlines()


def _cli(run, *args):
    return subprocess.run(
        [GODPY, *args, "--socket", run.socket], capture_output=True, text=True, timeout=60
    )


def test_notify_test_reports_success_and_failure(tmp_path, godpy_run):
    """`godpy notify-test`: exit 0 and the info when delivered; exit 1 and the error if not."""
    log = tmp_path / "notify.jsonl"
    with HttpSink(statuses=[500]) as sink:
        contacts = (
            'with God.contact("log") as c:\n    c.name = "audit"\n    c.group = "ops"\n'
            f"    c.path = {str(log)!r}\n"
            f'with God.contact("webhook") as c:\n    c.name = "hook"\n    c.url = {sink.url!r}\n'
        )
        run = godpy_run(_config(tmp_path, contacts, exit_condition=NOT_RUNNING), "--no-events")
        run.wait_log("godpy started")
        ok = _cli(run, "notify-test", "audit")
        bad = _cli(run, "notify-test", "hook")
        unknown = _cli(run, "notify-test", "audti")
        assert run.terminate() == 0
    assert (ok.returncode, ok.stdout) == (0, f"[ok] audit: wrote to {log}\n")
    assert '"category": "test"' in log.read_text()
    assert bad.returncode == 1
    assert bad.stdout.startswith("[fail] hook: DeliveryError: ") and "HTTP 500" in bad.stdout
    assert bad.stderr == "godpy: test notification failed for: hook\n"
    assert len(sink.requests) == 1, "a test message is tried once"
    assert unknown.returncode == 1
    assert unknown.stderr == "godpy: no contact or group named 'audti'; did you mean 'audit'?\n"


@pytest.mark.parametrize(
    "contacts, line, text",
    [
        (
            'with God.contact("webhok") as c:\n    c.name = "ops"\n',
            15,
            "unknown contact 'webhok'; did you mean 'webhook'? (known: command, email, log, ",
        ),
        (
            'with God.contact("log") as c:\n    c.name = "opz"\n    c.path = "/tmp/x.jsonl"\n',
            14,
            "watch 'probe': condition process_running: notify names unknown contact or group "
            "'ops'; did you mean 'opz'? (contacts: opz)",
        ),
    ],
    ids=["unknown-kind", "unknown-name"],
)
def test_bad_contact_config_is_refused_with_file_and_line(tmp_path, contacts, line, text):
    """An unknown contact kind or notify name: `file:line: message`, exit 1, nothing started."""
    config = tmp_path / "bad.god.py"
    config.write_text(_config(tmp_path, contacts, exit_condition=NOT_RUNNING))
    out = subprocess.run(
        [GODPY, "-c", str(config), "-D", "--no-events"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    assert f"godpy: {config}:{line}: {text}" in out.stderr
    assert "nothing was started" in out.stderr and "Traceback" not in out.stderr
