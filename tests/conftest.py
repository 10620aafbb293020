"""Shared test helpers: bounded waits, the probe child, and cleanup by pid."""

import os
import signal
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "probe.py")


class WaitTimeout(AssertionError):
    """A bounded wait ran out; the message shows the last value seen."""


def wait_until(predicate, timeout=10.0, interval=0.005, what=None):
    """Poll ``predicate`` until it returns a truthy value; return that value.

    Raises:
        WaitTimeout: after ``timeout`` seconds, showing the last value seen.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
        except Exception as exc:  # a probe file not written yet, etc.
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                f"timed out after {timeout}s waiting for {what or predicate}; last value: {last!r}"
            )
        time.sleep(interval)


def probe_argv(record, *args):
    """argv that runs the probe child writing to ``record``."""
    return [sys.executable, PROBE, str(record), *args]


def read_lines(path):
    """Lines of a probe record file ([] while it does not exist)."""
    try:
        with open(path) as fh:
            return [line.strip() for line in fh if line.strip()]
    except FileNotFoundError:
        return []


def alive(pid):
    """True when ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


class Pids:
    """Pids a test started or learned about; all are SIGKILLed at teardown."""

    def __init__(self):
        self.pids = set()

    def add(self, pid):
        self.pids.add(int(pid))
        return int(pid)

    def kill_all(self):
        for pid in self.pids:
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


@pytest.fixture
def pids():
    """Register pids to be killed when the test ends, whatever happens."""
    tracker = Pids()
    yield tracker
    tracker.kill_all()


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netlink, uid switch)")


GODPY = os.path.join(os.path.dirname(sys.executable), "godpy")


class GodpyRun:
    """A real foreground daemon, ``godpy -c CONFIG -D``, logging to a file."""

    def __init__(self, config, log, *args, socket=None):
        import subprocess

        self.log_path = log
        self.socket = str(socket or os.path.join(os.path.dirname(str(log)), "godpy.sock"))
        self._log = open(log, "ab")  # noqa: SIM115 (kept for the daemon's life)
        self.proc = subprocess.Popen(
            [GODPY, "-c", str(config), "-D", "--socket", self.socket, *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def text(self):
        """Everything the daemon has logged so far."""
        with open(self.log_path, errors="replace") as fh:
            return fh.read()

    def wait_log(self, needle, timeout=15.0, count=1):
        """Wait until ``needle`` appears ``count`` times in the log."""
        return wait_until(
            lambda: self.text().count(needle) >= count,
            timeout,
            what=f"{needle!r} x{count} in the daemon log:\n{self.text()[-3000:]}",
        )

    def terminate(self, timeout=30.0):
        """SIGTERM the daemon and return its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self):
        """SIGKILL the daemon if it is still running, and every process it started (teardown).

        The watched processes live in their own sessions, so they would outlive a killed
        daemon: collect the daemon's descendants by pid first, then kill them all.
        """
        import psutil

        if self.proc.poll() is None:
            try:
                family = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.Error:
                family = []
            self.proc.kill()
            self.proc.wait()
            for child in family:
                for kill in (os.killpg, os.kill):
                    try:
                        kill(child.pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
        self._log.close()


@pytest.fixture
def godpy_run(tmp_path, pids):
    """Start daemons with ``godpy_run(config_text, *args)``; all are killed at teardown."""
    runs = []

    def start(config_text, *args, name="app.god.py", socket=None):
        config = tmp_path / name
        config.write_text(config_text)
        run = GodpyRun(
            config,
            tmp_path / f"godpy-{len(runs)}.log",
            *args,
            socket=socket or tmp_path / f"ctl-{len(runs)}" / "godpy.sock",
        )
        pids.add(run.proc.pid)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.kill()


def read_pid(path):
    """The pid in a pid file, or None."""
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


class FakeClock:
    """A monotonic clock for unit tests: time moves only when ``advance`` is called."""

    def __init__(self, start=1000.0):
        self.now = float(start)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        """Move time forward by ``seconds``."""
        self.now += seconds


@pytest.fixture
def clock():
    """A fresh FakeClock for a test."""
    return FakeClock()


@pytest.fixture
def godlog(caplog, monkeypatch):
    """caplog capturing the "godpy" logger at DEBUG, even if a daemon setup cut propagation."""
    import logging

    monkeypatch.setattr(logging.getLogger("godpy"), "propagate", True)
    caplog.set_level(logging.DEBUG, logger="godpy")
    return caplog


class ThrowawayUser:
    """A user made for one test: ``name``, ``uid``, ``gid`` (its own group), ``home``,
    ``shell``, and ``extra``/``extra_gid``, a supplementary group it belongs to."""

    def __init__(self, name, extra):
        import grp
        import pwd

        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, pw.pw_uid, pw.pw_gid
        self.home, self.shell = pw.pw_dir, pw.pw_shell
        self.extra, self.extra_gid = extra, grp.getgrnam(extra).gr_gid


@pytest.fixture
def throwaway_user():
    """Create a user (useradd) in a fresh supplementary group; userdel/groupdel at teardown.

    Request it before fixtures that start processes as that user, so they end first.
    """
    import secrets
    import shutil
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("needs root: creating a throwaway user with useradd")
    if not (shutil.which("useradd") and shutil.which("groupadd")):
        pytest.skip("useradd/groupadd not installed: cannot create a throwaway user")
    tag = secrets.token_hex(3)
    name, extra = f"godpyu{tag}", f"godpyg{tag}"

    def run(*argv):
        subprocess.run(argv, check=True, capture_output=True, timeout=30)

    run("groupadd", extra)
    try:
        run("useradd", "-M", "-U", "-d", f"/home/{name}", "-s", "/bin/sh", "-G", extra, name)
        yield ThrowawayUser(name, extra)
    finally:
        # -f: remove it even while a process the test started still runs as it
        for argv in (("userdel", "-f", name), ("groupdel", name), ("groupdel", extra)):
            subprocess.run(argv, capture_output=True, timeout=30)


@pytest.fixture
def user_home(throwaway_user):
    """A folder owned by the throwaway user, reachable (0711 parents) under /tmp (the
    pytest folders are 0700: the user could not reach a file there)."""
    import shutil
    import tempfile

    base = tempfile.mkdtemp(prefix="godpy-home-", dir="/tmp")
    os.chmod(base, 0o711)
    path = os.path.join(base, "home")
    os.mkdir(path, 0o755)
    os.chown(path, throwaway_user.uid, throwaway_user.gid)
    yield path
    shutil.rmtree(base, ignore_errors=True)


def pipes_of(pid):
    """The pipes (their inode numbers) among process ``pid``'s descriptors."""
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("pipe:["):
            found.add(target)
    return found
