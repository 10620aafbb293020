"""Readiness mistakes are config errors at their lines, from ``godpy check``."""

import pytest
from cli_helpers import cli, config

pytestmark = pytest.mark.system


def _watch(*lines):
    body = "".join(f"    {line}\n" for line in lines)
    return (
        "with God.watch() as w:\n    w.name = 'db'\n    w.start = 'sleep 300'\n"
        f"{body}    w.keepalive(interval=30)\n"
    )


def _check(tmp_path, *lines):
    path = tmp_path / "app.god.py"
    path.write_text(config(tmp_path, _watch(*lines)))
    (tmp_path / "pids").mkdir(exist_ok=True)
    out = cli("check", path)
    return out.returncode, out.stderr.replace(str(path), "app.god.py")


def test_a_good_readiness_config_passes(tmp_path):
    code, errors = _check(
        tmp_path,
        "w.sd_notify = True",
        "w.watchdog = '30s'",
        "with w.ready_if() as on:",
        "    on.condition('port_listening', port=5432)",
    )
    assert (code, errors) == (0, "")


def test_watchdog_needs_sd_notify(tmp_path):
    code, errors = _check(tmp_path, "w.watchdog = '30s'")
    assert code == 1
    assert (
        "app.god.py:7: watch 'db': watchdog needs w.sd_notify = True (the program pings "
        "with WATCHDOG=1 on NOTIFY_SOCKET)"
    ) in errors


def test_ready_if_takes_polled_conditions_only(tmp_path):
    code, errors = _check(
        tmp_path, "with w.ready_if() as on:", "    on.condition('flapping', times=3, within=60)"
    )
    assert code == 1
    assert "app.god.py:8: watch 'db': ready_if takes polled conditions" in errors


def test_an_empty_ready_if_and_a_bad_sd_notify_are_refused(tmp_path):
    code, errors = _check(tmp_path, "w.sd_notify = 'yes'", "w.ready_if()")
    assert code == 1
    assert "app.god.py:7: watch 'db': sd_notify must be True or False, got 'yes'" in errors
    assert "app.god.py:8: watch 'db': ready_if() has no condition" in errors
