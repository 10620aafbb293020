"""Prometheus metrics: the address, the series of a real daemon read with Prometheus' own
parser, and how they follow a kill -9 and its restart."""

import os
import signal
import socket
import urllib.error
import urllib.request

import pytest
from cli_helpers import FILE_TASK, cli, config, kill_probes, live_pid, start_daemon, watch
from conftest import wait_until
from prometheus_client.parser import text_string_to_metric_families

from godpy import config as godpy_config
from godpy.errors import ConfigError
from godpy.metrics import Address, parse_address


def free_port(host="127.0.0.1", family=socket.AF_INET):
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def scrape(url):
    """{(sample name, labels as a sorted tuple): value} of one scrape of ``url``."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def series(samples, name, **labels):
    """The value of one series, or None when it is absent."""
    return samples.get((name, tuple(sorted(labels.items()))))


def states(samples, watch):
    """{state: value} of ``watch``'s godpy_watch_state series."""
    found = {}
    for (name, labels), value in samples.items():
        labels = dict(labels)
        if name == "godpy_watch_state" and labels["watch"] == watch:
            found[labels["state"]] = value
    return found


@pytest.fixture
def probes(tmp_path):
    yield
    kill_probes(tmp_path)


# -- the address ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, host, port",
    [("127.0.0.1:9101", "127.0.0.1", 9101), ("[::1]:9101", "::1", 9101), ("h:1", "h", 1)],
)
def test_addresses_that_parse(text, host, port):
    """HOST:PORT, with an IPv6 host in brackets; it prints as it was written."""
    address = parse_address(text)
    assert (address.host, address.port) == (host, port)
    assert str(address) == text


@pytest.mark.parametrize(
    "text, says",
    [
        ("9101", "expected HOST:PORT"),
        (":9101", "expected HOST:PORT"),
        ("127.0.0.1:", "port must be 1-65535"),
        ("127.0.0.1:0", "port must be 1-65535"),
        ("127.0.0.1:65536", "port must be 1-65535"),
        ("::1:9101", "IPv6 host in brackets"),
        (9101, "must be a string"),
    ],
)
def test_addresses_refused_with_the_fix(text, says):
    """A bad address is one line saying what is wrong and showing a good one."""
    with pytest.raises(ValueError, match=says) as info:
        parse_address(text)
    assert "127.0.0.1:9101" in str(info.value)


def test_an_address_is_the_same_wherever_it_was_set():
    """A `load` setting the address the daemon already serves is no change."""
    assert Address("::1", 1, "a.god.py:3") == Address("::1", 1, "--metrics")


def test_bad_config_setting_is_reported_at_its_line(tmp_path):
    """God.metrics_address = "nonsense" is a config problem at file:line."""
    path = tmp_path / "app.god.py"
    path.write_text(config(tmp_path, 'God.metrics_address = "nonsense"\n'))
    with pytest.raises(ConfigError) as info:
        godpy_config.check(str(path), events=False)
    assert info.value.problems == [
        f"{path}:4: God.metrics_address: metrics address 'nonsense': expected HOST:PORT, "
        "such as 127.0.0.1:9101 or [::1]:9101 (0.0.0.0:9101 for every interface)"
    ]


# -- a real daemon ---------------------------------------------------------------------------
def test_series_follow_a_kill_9_and_the_restart(tmp_path, godpy_run, pids, probes):
    """Every series is there with its labels; a kill -9 shows as -9 and one restart."""
    port = free_port()
    text = config(
        tmp_path,
        watch(tmp_path, "web", group="front", keepalive="interval=1"),
        watch(tmp_path, "solo", keepalive="interval=1"),
    )
    run = start_daemon(godpy_run, text, "--metrics", f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}/metrics"
    old = pids.add(live_pid(tmp_path, "web"))
    pids.add(live_pid(tmp_path, "solo"))
    web = {"watch": "web", "group": "front"}

    def up(samples, **labels):
        return series(samples, "godpy_watch_up", **labels) == 1

    samples = wait_until(lambda: (s := scrape(url)) and up(s, **web) and s, what="web up")
    assert series(samples, "godpy_watch_up", watch="solo", group="") == 1
    assert states(samples, "web") == {"up": 1}  # the current state alone
    assert series(samples, "godpy_watch_restarts_total", **web) == 0
    assert series(samples, "godpy_watch_last_exit_code", **web) is None  # no exit yet
    assert series(samples, "godpy_process_resident_memory_bytes", **web) > 1_000_000
    assert series(samples, "godpy_process_cpu_seconds_total", **web) >= 0
    assert series(samples, "process_resident_memory_bytes") > 1_000_000  # the daemon's own

    os.kill(old, signal.SIGKILL)
    new = pids.add(wait_until(lambda: (p := live_pid(tmp_path, "web")) != old and p))

    def restarted():
        s = scrape(url)
        done = series(s, "godpy_watch_restarts_total", **web) == 1 and up(s, **web)
        return done and s

    samples = wait_until(restarted, what=f"web restarted as {new}")
    assert series(samples, "godpy_watch_last_exit_code", **web) == -signal.SIGKILL
    assert series(samples, "godpy_watch_restarts_total", watch="solo", group="") == 0
    assert run.terminate() == 0


def test_a_stopped_watch_is_down_and_a_task_has_only_its_state(tmp_path, godpy_run, pids, probes):
    """After `godpy stop`, up is 0, the state is unmonitored, no process series; a
    generic task has its state series alone."""
    port = free_port()
    text = config(tmp_path, watch(tmp_path, "app"), FILE_TASK.format(path=str(tmp_path / "f")))
    run = start_daemon(godpy_run, text, "--metrics", f"127.0.0.1:{port}")
    pids.add(live_pid(tmp_path, "app"))
    assert cli("stop", "app", socket=run.socket).returncode == 0
    url = f"http://127.0.0.1:{port}/metrics"
    samples = wait_until(lambda: (s := scrape(url)) and states(s, "tidy") and s)
    assert series(samples, "godpy_watch_up", watch="app", group="") == 0
    assert states(samples, "app") == {"unmonitored": 1}
    assert series(samples, "godpy_process_resident_memory_bytes", watch="app", group="") is None
    assert states(samples, "tidy") == {"watching": 1}
    assert {labels for name, labels in samples if dict(labels).get("watch") == "tidy"} == {
        (("group", ""), ("state", "watching"), ("watch", "tidy"))
    }
    assert run.terminate() == 0


def test_config_setting_serves_and_the_flag_wins(tmp_path, godpy_run, pids, probes):
    """God.metrics_address serves; --metrics replaces it; other paths are 404; the port
    is closed when the daemon stops."""
    setting, flag = free_port(), free_port()
    text = config(tmp_path, f'God.metrics_address = "127.0.0.1:{setting}"\n', watch(tmp_path, "a"))
    run = start_daemon(godpy_run, text)
    run.wait_log(f"metrics: http://127.0.0.1:{setting}/metrics")
    assert "godpy_watch_up" in str(scrape(f"http://127.0.0.1:{setting}/metrics"))
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"http://127.0.0.1:{setting}/", timeout=10)
    assert info.value.code == 404
    assert run.terminate() == 0
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{setting}/metrics", timeout=10)

    again = start_daemon(godpy_run, text, "--metrics", f"127.0.0.1:{flag}")
    again.wait_log(f"metrics: http://127.0.0.1:{flag}/metrics")
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{setting}/metrics", timeout=10)
    assert again.terminate() == 0


def test_port_in_use_is_one_line_and_nothing_starts(tmp_path, godpy_run, probes):
    """An address in use: exit 1, one line naming the config line, no watch started."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        text = config(tmp_path, f'God.metrics_address = "127.0.0.1:{port}"\n', watch(tmp_path, "a"))
        run = godpy_run(text)
        assert run.proc.wait(30) == 1
    path = tmp_path / "app.god.py"
    assert (
        f"godpy: {path}:4: cannot serve metrics on 127.0.0.1:{port}: Address already in use; "
        "choose another HOST:PORT"
    ) in run.text()
    assert not (tmp_path / "a.rec").exists()


def test_bad_flag_is_a_usage_error(tmp_path):
    """--metrics with no host is refused before anything runs (exit 2)."""
    (tmp_path / "app.god.py").write_text(config(tmp_path))
    result = cli("-c", tmp_path / "app.god.py", "-D", "--metrics", "9101")
    assert result.returncode == 2
    assert "Invalid value for '--metrics': metrics address '9101': expected HOST:PORT" in (
        result.stderr
    )


def test_load_keeps_the_address_and_warns(tmp_path, godpy_run, pids, probes):
    """A `godpy load` that changes the address keeps the one served, with a warning."""
    port, other = free_port(), free_port()
    block = watch(tmp_path, "a")
    run = start_daemon(
        godpy_run, config(tmp_path, f'God.metrics_address = "127.0.0.1:{port}"\n', block)
    )
    changed = tmp_path / "changed.god.py"
    changed.write_text(config(tmp_path, f'God.metrics_address = "127.0.0.1:{other}"\n', block))
    result = cli("load", changed, socket=run.socket)
    assert result.returncode == 0, result.stderr
    assert (
        f"God.metrics_address = '127.0.0.1:{other}' ignored: the running daemon keeps "
        f"'127.0.0.1:{port}'"
    ) in result.stderr
    assert "godpy_watch_up" in str(scrape(f"http://127.0.0.1:{port}/metrics"))
    assert run.terminate() == 0


def _has_ipv6_loopback():
    try:
        free_port("::1", socket.AF_INET6)
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_loopback(tmp_path, godpy_run, pids, probes):
    """[::1]:PORT serves on the IPv6 loopback."""
    port = free_port("::1", socket.AF_INET6)
    run = start_daemon(
        godpy_run, config(tmp_path, watch(tmp_path, "a")), "--metrics", f"[::1]:{port}"
    )
    run.wait_log(f"metrics: http://[::1]:{port}/metrics")
    assert "godpy_watch_up" in str(scrape(f"http://[::1]:{port}/metrics"))
    assert run.terminate() == 0
