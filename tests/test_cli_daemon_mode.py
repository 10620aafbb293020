"""`godpy -c FILE` without -D: a real background daemon, its launcher, and its signals."""

import os
import signal
import subprocess

import pytest
from cli_helpers import cli, config, kill_probes, live_pid, wait_all_up, watch
from conftest import GODPY, alive, read_lines, read_pid, wait_until

pytestmark = pytest.mark.system

BAD = 'with God.watch() as w:\n    w.name = "x"\n    w.strat = "sleep 1"\n'


@pytest.fixture(autouse=True)
def _no_probe_left(tmp_path):
    yield
    kill_probes(tmp_path)


class Launched:
    """What one ``godpy -c FILE -l LOG -P PIDFILE --socket S`` launch left behind."""

    def __init__(self, result, socket, log, pid_file):
        self.result, self.socket, self.log, self.pid_file = result, socket, log, pid_file
        self.pid = read_pid(pid_file)

    def text(self):
        """The daemon's log file."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, needle, timeout=10.0):
        """Wait until ``needle`` is in the log file."""
        wait_until(lambda: needle in self.text(), timeout, what=f"{needle!r} in {self.log}")


@pytest.fixture
def launch(tmp_path, pids):
    """Run the launcher; every daemon it leaves is SIGKILLed (by its pid file) at teardown."""
    count = []

    def start(text, env_socket=False, socket=None):
        n = len(count)
        count.append(n)
        cfg = tmp_path / f"app-{n}.god.py"
        cfg.write_text(text)
        sock = socket or tmp_path / "ctl" / "godpy.sock"
        log, pid_file = tmp_path / f"godpy-{n}.log", tmp_path / f"godpy-{n}.pid"
        argv = [GODPY, "-c", cfg, "-l", log, "-P", pid_file]
        env = {k: v for k, v in os.environ.items() if k != "GODPY_SOCKET"}
        if env_socket:
            env["GODPY_SOCKET"] = str(sock)
        else:
            argv += ["--socket", sock]
        result = subprocess.run(
            [str(a) for a in argv],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        launched = Launched(result, sock, log, pid_file)
        if launched.pid:
            pids.add(launched.pid)
        return launched

    return start


def _app(tmp_path):
    return config(tmp_path, watch(tmp_path, "solo"), watch(tmp_path, "web-0", group="web"))


def _proc_link(pid, what):
    return os.readlink(f"/proc/{pid}/{what}")


def test_launcher_returns_once_the_socket_answers(tmp_path, launch):
    """Exit 0 only when the socket answers; the daemon is detached: own session, cwd /, no tty."""
    daemon = launch(_app(tmp_path))
    result = daemon.result
    assert (result.returncode, result.stderr) == (0, ""), result
    assert result.stdout == (
        f"godpy started (pid {daemon.pid}), control socket {daemon.socket}, "
        f"pid file {daemon.pid_file}\n"
    )
    status = cli("status", socket=daemon.socket)  # at once, no retry
    assert status.returncode in (0, 3), status
    assert "solo:" in status.stdout and "web-0:" in status.stdout
    assert alive(daemon.pid)
    assert os.getsid(daemon.pid) != os.getsid(0)
    assert os.getsid(daemon.pid) == os.getpgid(daemon.pid)
    assert _proc_link(daemon.pid, "cwd") == "/"
    assert [_proc_link(daemon.pid, f"fd/{fd}") for fd in (0, 1, 2)] == ["/dev/null"] * 3
    wait_all_up(daemon.socket)
    daemon.wait_log("godpy started with 2 task(s)")


def test_bad_config_reports_file_line_on_the_terminal_and_leaves_no_daemon(tmp_path, launch):
    """A bad config: exit 1, the file:line error on the launcher's stderr, no daemon left."""
    daemon = launch(config(tmp_path, watch(tmp_path, "solo")) + BAD)
    cfg = tmp_path / "app-0.god.py"
    line = len(cfg.read_text().splitlines())
    assert (daemon.result.returncode, daemon.result.stdout, daemon.result.stderr) == (
        1,
        "",
        f"godpy: {cfg}:{line}: unknown attribute 'strat' for watch 'x'; did you mean 'start'?\n"
        f"godpy: {cfg}:{line - 2}: watch 'x': 'start' is required\n"
        f"godpy: {cfg}:{line - 2}: watch 'x': has no conditions, so its process would never "
        "be started or checked; did you mean w.keepalive()? (without the parentheses it does "
        "nothing)\n"
        "godpy: config not loaded; nothing was started\n",
    )
    assert daemon.pid is None and not daemon.socket.exists()
    assert cli("status", socket=daemon.socket).returncode == 4
    assert not (tmp_path / "solo.rec").exists()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    assert str(cfg).encode() not in fh.read(), f"pid {entry} still runs it"
            except (FileNotFoundError, ProcessLookupError):
                pass


def test_second_daemon_on_an_answering_socket_fails_and_spares_the_first(tmp_path, launch):
    """A second daemon on a live socket exits 1 with a clear message; the first keeps serving."""
    first = launch(_app(tmp_path))
    assert first.result.returncode == 0
    second = launch(config(tmp_path, watch(tmp_path, "other")))
    assert (second.result.returncode, second.result.stdout, second.result.stderr) == (
        1,
        "",
        f"godpy: another godpy is already running on {first.socket}\n",
    )
    assert second.pid is None
    assert first.socket.exists()
    status = cli("status", socket=first.socket)
    assert status.returncode in (0, 3) and "solo:" in status.stdout and "other" not in status.stdout
    assert not (tmp_path / "other.rec").exists()


def test_stale_socket_of_a_killed_daemon_is_replaced(tmp_path, launch, pids):
    """After SIGKILL the socket file stays; the next daemon (GODPY_SOCKET) replaces it."""
    first = launch(_app(tmp_path), env_socket=True)
    assert first.result.returncode == 0
    wait_all_up(first.socket)
    solo = pids.add(live_pid(tmp_path, "solo"))
    os.kill(first.pid, signal.SIGKILL)
    wait_until(lambda: not alive(first.pid))
    assert first.socket.exists()
    assert cli("status", socket=first.socket).returncode == 4
    second = launch(_app(tmp_path), env_socket=True)
    assert second.result.returncode == 0, second.result
    assert second.pid != first.pid
    wait_all_up(second.socket)
    assert read_pid(tmp_path / "pids" / "solo.pid") == solo  # adopted, not started twice


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_sigterm_or_sigint_terminates(tmp_path, launch, sig):
    """SIGTERM/SIGINT: every watch stopped, the daemon gone, its socket and pid file removed."""
    daemon = launch(_app(tmp_path))
    wait_all_up(daemon.socket)
    probes = [live_pid(tmp_path, name) for name in ("solo", "web-0")]
    os.kill(daemon.pid, sig)
    wait_until(lambda: not alive(daemon.pid), 15)
    for name, pid in zip(("solo", "web-0"), probes, strict=True):
        assert not alive(pid)
        assert "signal SIGTERM" in read_lines(tmp_path / f"{name}.rec")
    assert not daemon.socket.exists()
    assert not daemon.pid_file.exists()
    assert f"received {sig.name}; stopping" in daemon.text()


def test_sighup_reopens_the_log_file(tmp_path, launch, pids):
    """After logrotate moves the log away, SIGHUP makes new lines go to the original path."""
    daemon = launch(_app(tmp_path))
    wait_all_up(daemon.socket)
    daemon.wait_log("godpy started with")
    rotated = tmp_path / "rotated.log"
    os.rename(daemon.log, rotated)
    os.kill(daemon.pid, signal.SIGHUP)
    daemon.wait_log("received SIGHUP; log files reopened")
    assert cli("restart", "solo", socket=daemon.socket).returncode == 0
    pids.add(read_pid(tmp_path / "pids" / "solo.pid"))
    daemon.wait_log("solo move 'restart' to 'up'")
    old = rotated.read_text()
    assert "godpy started with" in old
    assert "solo move 'restart' to 'up'" not in old and "received SIGHUP" not in old
    assert "godpy started with" not in daemon.text()


def test_sigusr1_writes_every_watch_status_to_the_log(tmp_path, launch):
    """SIGUSR1: one status line per watch in the log, with its state and pid."""
    daemon = launch(_app(tmp_path))
    wait_all_up(daemon.socket)
    solo, web = live_pid(tmp_path, "solo"), live_pid(tmp_path, "web-0")
    os.kill(daemon.pid, signal.SIGUSR1)
    daemon.wait_log("status web-0:")
    assert f"status solo: up pid={solo}" in daemon.text()
    assert f"status web-0: up pid={web}" in daemon.text()
    assert alive(daemon.pid)


def test_without_p_the_pid_file_is_named_after_the_socket(tmp_path, pids):
    """Without -P the daemon writes <pid dir>/godpy-<hash>.pid and removes it on terminate."""
    from godpy.runner import default_pid_path

    sock = tmp_path / "own" / "godpy.sock"
    cfg = tmp_path / "app.god.py"
    cfg.write_text(_app(tmp_path))
    expected = default_pid_path(str(sock))
    assert os.path.basename(expected).startswith("godpy-")
    result = subprocess.run(
        [GODPY, "-c", str(cfg), "-l", str(tmp_path / "log"), "--socket", str(sock)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result
    pid = pids.add(read_pid(expected))
    assert result.stdout.endswith(f"pid file {expected}\n")
    assert cli("terminate", socket=sock).returncode == 0
    assert not sock.exists()  # gone as soon as terminate answered
    wait_until(lambda: not alive(pid) and not os.path.exists(expected))
