"""Process control against real children: spawn, detach, pid files, identity, stop, reap."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import alive, probe_argv, read_lines, read_pid, wait_until

from godpy import swap_file
from godpy.children import OWNER_GRACE, any_exited, exited
from godpy.command_runner import argv_for
from godpy.credentials import Credentials
from godpy.pids import describe_status, read_pid_file, remove_pid_file, write_pid_file
from godpy.process import Children, Process, ProcessSpec

integration = pytest.mark.integration


class Recorder:
    """A watch's ``log(level, message, *args)``, keeping (level, text) pairs."""

    def __init__(self):
        self.lines = []

    def __call__(self, level, message, *args):
        self.lines.append((level, message % args if args else message))

    def text(self):
        return "\n".join(text for _, text in self.lines)


class Harness:
    """Builds Processes sharing one Children and one log; knows every pid they ran."""

    def __init__(self, tmp_path, pids):
        self.tmp_path = tmp_path
        self.pids = pids
        self.children = Children()
        self.log = Recorder()
        self.made = []

    def process(self, start, **spec):
        spec.setdefault("name", "probe")
        spec.setdefault("pid_file_directory", str(self.tmp_path))
        proc = Process(ProcessSpec(start=start, **spec), log=self.log, children=self.children)
        self.made.append(proc)
        return proc

    def start(self, proc):
        """Start ``proc`` and return its pid once it is running (registered for cleanup)."""
        proc.start()
        return self.pids.add(
            wait_until(lambda: proc.current_pid(), what=f"{proc.spec.name} running")
        )

    def probe(self, record, *args, **spec):
        """Start a probe and wait until it has installed its signal handlers."""
        proc = self.process(probe_argv(record, *args), **spec)
        pid = self.start(proc)
        wait_until(lambda: f"start {pid}" in read_lines(record), what=f"probe {pid} started")
        return proc, pid

    def launch(self, record, *args, **spec):
        """Start a probe that may exit at once; return it and the pid it recorded."""
        proc = self.process(probe_argv(record, *args), **spec)
        proc.start()
        line = wait_until(lambda: [x for x in read_lines(record) if x.startswith("start ")])
        return proc, int(line[0].split()[1])

    def cleanup(self):
        for proc in self.made:
            pid = proc.current_pid()
            if pid is not None:
                self.pids.add(pid)
        self.pids.kill_all()
        wait_until(lambda: self.children.reap() == 0, what="every child reaped at teardown")


@pytest.fixture
def harness(tmp_path, pids):
    """A Harness whose processes are SIGKILLed by pid (group) and reaped at teardown."""
    h = Harness(tmp_path, pids)
    yield h
    h.cleanup()


@pytest.fixture
def outsider(pids):
    """Start a probe left behind by an earlier godpy: a session leader whose parent is gone."""

    def spawn(record):
        orphaner = (
            "import subprocess, sys; "
            f"subprocess.Popen({probe_argv(record)!r}, start_new_session=True)"
        )
        subprocess.run([sys.executable, "-c", orphaner], check=True, timeout=30)
        line = wait_until(lambda: [x for x in read_lines(record) if x.startswith("start ")])
        return pids.add(line[0].split()[1])

    return spawn


def zombie_children():
    """Pids of zombies whose parent is this test process."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            found.add(int(entry))
    return found


def proc_status(pid, key):
    """A field of /proc/PID/status, e.g. ``Uid`` -> its value text."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
    raise KeyError(key)


def proc_environ(pid):
    """The environment a process was started with, from /proc/PID/environ."""
    with open(f"/proc/{pid}/environ", "rb") as fh:
        entries = fh.read().decode().split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


# -- argv, statuses, pid files (no children) --------------------------------------------


@pytest.mark.parametrize(
    "command, argv",
    [
        ("sleep 5", ["sleep", "5"]),
        ("/usr/bin/env --opt=1 x", ["/usr/bin/env", "--opt=1", "x"]),
        ("echo 'a b' \"c d\"", ["echo", "a b", "c d"]),
        (["echo", "a|b", 3], ["echo", "a|b", "3"]),
        (("sleep", "1"), ["sleep", "1"]),
    ],
)
def test_argv_for_execs_plain_commands_directly(command, argv):
    """A command without shell syntax (or given as a list) is split and exec'd, no shell."""
    assert argv_for(command) == argv


@pytest.mark.parametrize(
    "command",
    [
        "echo a | cat",
        "echo a > /tmp/x",
        "echo $HOME",
        "a && b",
        "a; b",
        "echo `date`",
        "ls *.py",
        "FOO=1 env",
        "cd ~",
        "echo a\necho b",
    ],
)
def test_argv_for_runs_shell_syntax_through_sh(command):
    """Pipes, redirections, variables, globs, assignments and the like go to /bin/sh -c."""
    assert argv_for(command) == ["/bin/sh", "-c", command]


@pytest.mark.parametrize(
    "code, text",
    [
        (0, "exited with code 0"),
        (3, "exited with code 3"),
        (-signal.SIGKILL, "killed by SIGKILL"),
        (-signal.SIGTERM, "killed by SIGTERM"),
        (-200, "killed by signal 200"),
    ],
)
def test_describe_status(code, text):
    """Popen return codes read as 'exited with code N' or 'killed by SIGNAME'."""
    assert describe_status(code) == text


def test_write_pid_file_replaces_the_file_atomically(tmp_path):
    """The pid file is swapped into place: a reader of the old file never sees a mix,
    and only the pid file and its hidden spare are left."""
    path = tmp_path / "w.pid"
    path.write_text("99999\n")
    with open(path) as old:
        write_pid_file(str(path), 1234)
        assert old.read() == "99999\n"  # the old inode is untouched: not truncated
    assert path.read_text() == "1234"
    write_pid_file(str(path), 56)  # shorter than what the spare held
    assert path.read_text() == "56"
    assert sorted(os.listdir(tmp_path)) == [".w.pid.spare", "w.pid"]
    assert read_pid_file(str(path))[0] == 56
    assert path.stat().st_mode & 0o777 == 0o644
    remove_pid_file(str(path))
    assert os.listdir(tmp_path) == []


def test_write_pid_file_without_a_swap_renames_the_spare(tmp_path, monkeypatch):
    """A filesystem (or C library) that cannot swap names gets the spare renamed into
    place: still whole, never a partial file."""
    monkeypatch.setattr(swap_file, "_exchange", lambda a, b: False)
    path = tmp_path / "w.pid"
    for pid in (1234, 5):
        write_pid_file(str(path), pid)
        assert path.read_text() == str(pid)
    assert os.listdir(tmp_path) == ["w.pid"]


@pytest.mark.parametrize("plant", ["link", "fifo", "hard link"])
def test_write_pid_file_replaces_whatever_was_planted_as_its_spare(tmp_path, plant):
    """Only a plain file of godpy's own with one name serves as the spare: a link, a
    fifo (which would block the open) or a second name of another file is removed, the
    file it led to is untouched, and the pid file is written."""
    victim = tmp_path / "victim"
    victim.write_text("keep")
    spare = tmp_path / ".w.pid.spare"
    if plant == "link":
        os.symlink(victim, spare)
    elif plant == "fifo":
        os.mkfifo(spare)
    else:
        os.link(victim, spare)
    write_pid_file(str(tmp_path / "w.pid"), 1234)
    assert victim.read_text() == "keep"
    assert (tmp_path / "w.pid").read_text() == "1234"
    write_pid_file(str(tmp_path / "w.pid"), 5678)
    assert victim.read_text() == "keep"
    assert (tmp_path / "w.pid").read_text() == "5678"


@pytest.mark.parametrize("text", ["", "abc", "12 34", "-5"])
def test_read_pid_file_rejects_garbage(tmp_path, text):
    """A pid file that does not hold a plain number yields None."""
    path = tmp_path / "bad.pid"
    path.write_text(text)
    assert read_pid_file(str(path)) is None
    assert read_pid_file(str(tmp_path / "missing.pid")) is None


# -- detaching ----------------------------------------------------------------------------


@integration
def test_child_gets_its_own_session_and_dev_null_stdio(harness, tmp_path):
    """Without logs the child leads its own session, with stdin/out/err on /dev/null."""
    proc, pid = harness.probe(tmp_path / "rec")
    assert os.getsid(pid) == pid
    assert os.getpgid(pid) == pid
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
    assert int(proc_status(pid, "PPid")) == os.getpid()  # it stays godpy's child


@integration
def test_stdout_and_stderr_are_appended_to_log(harness, tmp_path):
    """stdout and stderr go to log, appended: two runs keep earlier content and both outputs."""
    log = tmp_path / "out.log"
    log.write_text("earlier\n")
    proc = harness.process("echo out-$$; echo err-$$ >&2", log=str(log))
    for _ in range(2):
        proc.start()
        assert wait_until(proc.reap, what="shell exited") == "exited with code 0"
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier"
    runs = {line.split("-", 1)[1] for line in lines[1:]}
    assert len(runs) == 2
    assert sorted(lines[1:]) == sorted(f"{kind}-{pid}" for pid in runs for kind in ("out", "err"))


@integration
def test_err_log_receives_stderr_separately(harness, tmp_path):
    """With err_log set, stderr goes there and log keeps stdout only."""
    log, err = tmp_path / "out.log", tmp_path / "err.log"
    proc = harness.process("echo to-out; echo to-err >&2", log=str(log), err_log=str(err))
    proc.start()
    wait_until(proc.reap, what="shell exited")
    assert log.read_text() == "to-out\n"
    assert err.read_text() == "to-err\n"


# -- exit status, pid file, working directory, environment, umask -----------------------


@integration
def test_exact_exit_code_is_known_after_reap(harness, tmp_path):
    """A child that exits with 3 is reported as 'exited with code 3'."""
    proc, pid = harness.launch(tmp_path / "rec", "--exit", "3")
    assert wait_until(proc.reap, what="probe exit") == "exited with code 3"
    assert proc.current_pid() is None
    assert not alive(pid)


@integration
def test_killed_child_is_reported_by_signal_name(harness, tmp_path):
    """A child killed with SIGKILL from outside is reported as 'killed by SIGKILL'."""
    proc, pid = harness.probe(tmp_path / "rec")
    os.kill(pid, signal.SIGKILL)
    assert wait_until(proc.reap, what="probe reaped") == "killed by SIGKILL"
    assert proc.current_pid() is None


@integration
def test_pid_file_holds_exact_pid_and_is_removed_after_stop(harness, tmp_path):
    """<pid_file_directory>/<name>.pid holds the pid with no newline; stop removes it."""
    piddir = tmp_path / "pids"
    piddir.mkdir()
    proc, pid = harness.probe(tmp_path / "rec", name="web", pid_file_directory=str(piddir))
    assert proc.pid_file == str(piddir / "web.pid")
    assert (piddir / "web.pid").read_text() == str(pid)
    assert os.listdir(piddir) == ["web.pid"]  # no temporary file left behind
    proc.stop()
    assert os.listdir(piddir) == []


@integration
@pytest.mark.parametrize("where", ["default", "custom"])
def test_working_directory_is_root_unless_dir_is_set(harness, tmp_path, where):
    """The child runs in / by default, or in ``dir`` when set."""
    spec = {} if where == "default" else {"dir": str(tmp_path)}
    proc, pid = harness.probe(tmp_path / "rec", **spec)
    expected = "/" if where == "default" else str(tmp_path)
    assert os.readlink(f"/proc/{pid}/cwd") == expected


@integration
def test_env_is_merged_onto_godpys_environment(harness, tmp_path, monkeypatch):
    """The child sees godpy's own variables plus ``env`` (which wins), values as strings."""
    monkeypatch.setenv("GODPY_T_OUTER", "outer")
    monkeypatch.setenv("GODPY_T_BOTH", "outer")
    env = {"GODPY_T_INNER": "inner", "GODPY_T_BOTH": "inner", "GODPY_T_NUMBER": 5}
    proc, pid = harness.probe(tmp_path / "rec", env=env)
    seen = proc_environ(pid)
    assert seen["GODPY_T_OUTER"] == "outer"
    assert seen["GODPY_T_INNER"] == "inner"
    assert seen["GODPY_T_BOTH"] == "inner"
    assert seen["GODPY_T_NUMBER"] == "5"
    assert seen.get("HOME") == os.environ.get("HOME")  # no uid: HOME untouched


@integration
@pytest.mark.parametrize("umask, expected", [(0o027, "0027"), (0o077, "0077"), (None, "inherit")])
def test_umask_is_applied_to_the_child(harness, tmp_path, umask, expected):
    """``umask`` sets the child's umask; without it the child inherits godpy's."""
    current = os.umask(0o022)
    os.umask(current)
    proc, pid = harness.probe(tmp_path / "rec", umask=umask)
    assert proc_status(pid, "Umask") == (f"{current:04o}" if umask is None else expected)


# -- credentials and chroot -------------------------------------------------------------


@integration
@pytest.mark.parametrize(
    "uid_form, gid_form",
    [("name", None), ("number", None), ("name", "name"), ("number", "number")],
)
def test_uid_and_gid_by_name_or_number(throwaway_user, harness, uid_form, gid_form):
    """The child runs as the user (name or number), with its groups and its HOME etc."""
    u = throwaway_user
    uid = u.name if uid_form == "name" else u.uid
    gid = {None: None, "name": u.extra, "number": u.extra_gid}[gid_form]
    creds = Credentials.resolve(uid=uid, gid=gid)
    proc = harness.process(["sleep", "60"], credentials=creds)
    pid = harness.start(proc)
    want_gid = u.gid if gid is None else u.extra_gid
    assert proc_status(pid, "Uid").split() == [str(u.uid)] * 4
    assert proc_status(pid, "Gid").split() == [str(want_gid)] * 4
    groups = {int(g) for g in proc_status(pid, "Groups").split()}
    assert groups == set(os.getgrouplist(u.name, want_gid))
    assert u.extra_gid in groups
    env = proc_environ(pid)
    assert (env["HOME"], env["USER"], env["LOGNAME"]) == (u.home, u.name, u.name)
    assert env["SHELL"] == u.shell


def _build_chroot(root):
    """Copy /bin/sh and /bin/sleep with the shared libraries ldd lists into ``root``."""
    if os.geteuid() != 0:
        pytest.skip("chroot(2) needs root")
    if shutil.which("ldd") is None:
        pytest.skip("no ldd to find the libraries /bin/sh needs, and no static binary")
    for binary in ("/bin/sh", "/bin/sleep"):
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
        libs = [w for line in out.stdout.splitlines() for w in line.split() if w.startswith("/")]
        for path in [binary, *libs]:
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    (root / "srv").mkdir(mode=0o777)
    os.chmod(root / "srv", 0o777)


@integration
def test_chroot_runs_the_command_inside_the_new_root(harness, tmp_path):
    """With chroot, the command (here through /bin/sh) sees the jail as / and dir as cwd."""
    jail = tmp_path / "jail"
    _build_chroot(jail)
    command = "pwd > /where; test -e /work || echo jailed >> /where"
    proc = harness.process(command, chroot=str(jail), dir="/srv")
    proc.start()
    assert wait_until(proc.reap, what="shell in chroot exited") == "exited with code 0"
    assert (jail / "where").read_text() == "/srv\njailed\n"


@integration
def test_chroot_with_uid_drops_privileges_inside_the_jail(throwaway_user, harness, tmp_path):
    """With chroot and uid, the child's root is the jail and it runs as the user."""
    jail = tmp_path / "jail"
    _build_chroot(jail)
    u = throwaway_user
    creds = Credentials.resolve(uid=u.name)
    proc = harness.process(["/bin/sleep", "60"], chroot=str(jail), dir="/srv", credentials=creds)
    pid = harness.start(proc)
    assert os.readlink(f"/proc/{pid}/root") == str(jail)
    assert os.readlink(f"/proc/{pid}/cwd") == str(jail / "srv")
    assert proc_status(pid, "Uid").split() == [str(u.uid)] * 4
    assert {int(g) for g in proc_status(pid, "Groups").split()} == {u.gid, u.extra_gid}


# -- stopping -----------------------------------------------------------------------------


@integration
def test_stop_sends_sigterm_by_default(harness, tmp_path):
    """stop() sends SIGTERM; the probe exits 0 and godpy records that exact status."""
    record = tmp_path / "rec"
    proc, pid = harness.probe(record)
    proc.stop()
    assert read_lines(record)[-2:] == ["signal SIGTERM", "exit 0"]
    assert proc.last_exit == "exited with code 0"
    assert proc.current_pid() is None and not alive(pid)


@integration
def test_stop_signal_is_configurable(harness, tmp_path):
    """stop_signal replaces SIGTERM; a process that ignores it is then SIGKILLed."""
    record = tmp_path / "rec"
    proc, pid = harness.probe(record, stop_signal=signal.SIGUSR1, stop_timeout=1)
    proc.stop()
    assert "signal SIGUSR1" in read_lines(record)
    assert "signal SIGTERM" not in read_lines(record)
    assert proc.last_exit == "killed by SIGKILL"


@integration
def test_stop_escalates_to_sigkill_after_stop_timeout(harness, tmp_path):
    """A process that ignores SIGTERM is SIGKILLed once stop_timeout has passed."""
    record = tmp_path / "rec"
    proc, pid = harness.probe(record, "--ignore-term", stop_timeout=1)
    proc.stop()
    assert "signal SIGTERM" in read_lines(record)
    assert not any(line.startswith("exit") for line in read_lines(record))
    assert proc.last_exit == "killed by SIGKILL"
    assert "sent SIGKILL" in harness.log.text()
    assert not alive(pid)


@integration
def test_grandchild_in_the_group_does_not_survive_stop(harness, tmp_path, pids):
    """supervisor issue 1101: a grandchild that ignores TERM dies with its parent's group."""
    record = tmp_path / "rec"
    proc, pid = harness.probe(record, "--spawn-child", stop_timeout=1)
    line = wait_until(lambda: [x for x in read_lines(record) if x.startswith("child ")])
    grandchild = pids.add(line[0].split()[1])
    assert os.getpgid(grandchild) == pid
    proc.stop()
    assert "exit 0" in read_lines(record)  # the parent itself obeyed SIGTERM
    wait_until(lambda: not alive(grandchild), what=f"grandchild {grandchild} gone")


@integration
def test_stop_when_not_running_is_harmless(harness):
    """Stopping a process that never started logs that and raises nothing."""
    proc = harness.process(["sleep", "60"])
    proc.stop()
    assert proc.current_pid() is None
    assert "not running" in harness.log.text()


@integration
def test_custom_stop_command_runs_and_its_pid_is_not_tracked(harness, tmp_path):
    """The stop command stops the process; its own pid never becomes the watched pid."""
    record, marker = tmp_path / "rec", tmp_path / "stopper"
    zombies_before = zombie_children()
    pidfile = tmp_path / "probe.pid"
    stop = f"echo $$ > {marker}; kill -TERM $(cat {pidfile})"
    proc, pid = harness.probe(record, stop=stop)
    proc.stop()
    stopper = read_pid(marker)
    assert stopper is not None and stopper != pid
    assert read_lines(record)[-2:] == ["signal SIGTERM", "exit 0"]
    assert proc.current_pid() is None
    assert not pidfile.exists()
    assert zombie_children() - zombies_before == set()


@integration
def test_stop_command_that_fails_leads_to_sigkill_of_the_watched_pid(harness, tmp_path):
    """God issue 250: after a stop command that does not stop, the real process is killed."""
    record, marker = tmp_path / "rec", tmp_path / "stopper"
    stop = f"echo $$ > {marker}; kill -HUP $(cat {tmp_path / 'probe.pid'})"
    proc, pid = harness.probe(record, stop=stop, stop_timeout=1)
    proc.stop()
    assert read_pid(marker) != pid
    assert "signal SIGHUP" in read_lines(record)
    assert proc.last_exit == "killed by SIGKILL"
    assert not alive(pid)


# -- restarting and signals ------------------------------------------------------------


@integration
def test_custom_restart_command_keeps_tracking_the_same_process(harness, tmp_path):
    """The restart command runs; the watched pid and its pid file stay the probe's."""
    record, marker = tmp_path / "rec", tmp_path / "restarter"
    pidfile = tmp_path / "probe.pid"
    restart = f"echo $$ > {marker}; kill -HUP $(cat {pidfile})"
    proc, pid = harness.probe(record, restart=restart)
    assert proc.restart() is True
    wait_until(lambda: "signal SIGHUP" in read_lines(record), what="probe got SIGHUP")
    assert read_pid(marker) not in (None, pid)
    assert proc.current_pid() == pid
    assert read_pid(pidfile) == pid
    assert [x for x in read_lines(record) if x.startswith("start")] == [f"start {pid}"]


@integration
def test_restart_signal_is_sent_to_the_process(harness, tmp_path):
    """restart_signal is delivered to the running process, which keeps its pid."""
    record = tmp_path / "rec"
    proc, pid = harness.probe(record, restart_signal=signal.SIGUSR1)
    assert proc.restart() is True
    wait_until(lambda: "signal SIGUSR1" in read_lines(record), what="probe got SIGUSR1")
    assert proc.current_pid() == pid


@integration
def test_restart_without_command_or_signal_asks_for_stop_then_start(harness, tmp_path):
    """With neither restart nor restart_signal, restart() returns False and sends nothing."""
    record = tmp_path / "rec"
    proc, pid = harness.probe(record)
    assert proc.restart() is False
    assert read_lines(record) == [f"start {pid}"]


@integration
@pytest.mark.parametrize("sig, name", [("HUP", "SIGHUP"), ("SIGUSR2", "SIGUSR2"), (10, "SIGUSR1")])
def test_signal_accepts_names_and_numbers(harness, tmp_path, sig, name):
    """signal() delivers 'HUP', 'SIGUSR2' or a number to the process."""
    record = tmp_path / "rec"
    proc, _ = harness.probe(record)
    assert proc.signal(sig) is True
    wait_until(lambda: f"signal {name}" in read_lines(record), what=f"probe got {name}")


# -- self-daemonizing start commands and pid identity ------------------------------------


@integration
def test_self_daemonizing_start_is_tracked_from_its_pid_file(harness, tmp_path, pids):
    """With pid_file, godpy reads the daemon's pid from it and never writes that file."""
    record, pidfile = tmp_path / "rec", tmp_path / "daemon.pid"
    proc = harness.process(probe_argv(record, "--daemonize", pidfile), pid_file=str(pidfile))
    proc.start()
    pid = pids.add(wait_until(lambda: proc.current_pid(), what="daemon pid from its pid file"))
    wait_until(lambda: f"start {pid}" in read_lines(record), what="daemon started")
    written = os.stat(pidfile)
    assert pidfile.read_text() == str(pid)
    assert os.getsid(pid) != pid  # it really daemonized (double fork)
    assert proc.current_pid() == pid
    assert not (tmp_path / "probe.pid").exists()
    proc.stop()
    assert read_lines(record)[-2:] == ["signal SIGTERM", "exit 0"]
    assert proc.current_pid() is None
    after = os.stat(pidfile)
    assert (after.st_ino, after.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)


@integration
def test_daemonizing_start_without_pid_file_warns(harness, tmp_path, pids):
    """A start command that exits 0 at once is logged with a hint to set pid_file."""
    record, pidfile = tmp_path / "rec", tmp_path / "daemon.pid"
    proc = harness.process(probe_argv(record, "--daemonize", pidfile))
    proc.start()
    pids.add(wait_until(lambda: read_pid(pidfile), what="daemon wrote its pid file"))
    assert wait_until(proc.reap, what="start command exited") == "exited with code 0"
    assert "set pid_file" in harness.log.text()


@integration
def test_pid_file_older_than_its_process_is_not_trusted(harness, tmp_path, outsider):
    """A pid file written before its pid's process started points at a reused pid."""
    pid = outsider(tmp_path / "rec")
    pidfile = tmp_path / "probe.pid"
    pidfile.write_text(str(pid))
    hour_ago = time.time() - 3600
    os.utime(pidfile, (hour_ago, hour_ago))
    assert harness.process(["sleep", "60"]).pid is None


@integration
def test_pid_file_written_after_its_process_started_is_adopted(harness, tmp_path, outsider):
    """A live process that started before its pid file was written is adopted and stoppable."""
    record = tmp_path / "rec"
    pid = outsider(record)
    (tmp_path / "probe.pid").write_text(str(pid))
    proc = harness.process(["sleep", "60"])
    assert proc.current_pid() == pid
    proc.stop()
    assert read_lines(record)[-2:] == ["signal SIGTERM", "exit 0"]
    assert proc.current_pid() is None


# -- reaping and failures ----------------------------------------------------------------


@integration
def test_children_reap_leaves_no_zombie(harness, tmp_path):
    """A dead child stays a zombie only until Children.reap() runs."""
    before = zombie_children()
    record = tmp_path / "rec"
    proc, pid = harness.launch(record, "--exit", "0")
    wait_until(lambda: pid in zombie_children(), what=f"{pid} exited (zombie)")
    assert harness.children.reap() == 0
    assert zombie_children() - before == set()
    assert not os.path.exists(f"/proc/{pid}")


@integration
def test_a_scan_of_unowned_children_leaves_a_drivers_child_to_it():
    """``reap(owned=False)`` (a SIGCHLD while drivers reap on exit events) reaps only
    children nobody owns; a full scan tells the owner of its exited child, and then
    (the owner will not reap it: here, nobody) reaps it."""
    children = Children()
    told = []
    owned = subprocess.Popen(["true"])
    unowned = subprocess.Popen(["true"])
    children.add(owned, lambda: told.append(owned.pid) or False)
    children.add(unowned)
    wait_until(lambda: exited(owned.pid) and exited(unowned.pid), what="both exited")
    assert any_exited()
    assert children.reap(owned=False) == 1 and told == [] and unowned.returncode == 0
    assert children.reap() == 0 and told == [owned.pid] and owned.returncode == 0


@integration
def test_with_exit_events_a_sigchld_leaves_a_drivers_child_to_it_for_a_grace():
    """With exit events, a SIGCHLD reaps the unowned children at once and looks at the
    owned ones only OWNER_GRACE later (their drivers reap them first)."""
    children = Children()
    children.owners_reap = True
    told = []
    owned = subprocess.Popen(["sleep", "30"])
    children.add(owned, lambda: told.append(owned.pid) or False)
    children.tick(0.0)  # the first safety-net scan, before anything exited
    owned.kill()
    wait_until(lambda: exited(owned.pid), what="the child exited")
    children.signalled(1.0)  # well within REAP_EVERY of that first scan
    assert children.scan_in(1.0) == OWNER_GRACE and told == []
    children.tick(1.0 + OWNER_GRACE / 2)
    assert told == []
    children.tick(1.0 + OWNER_GRACE)
    assert told == [owned.pid] and owned.returncode == -9 and children.scan_in(2.0) == 1.0


@integration
def test_a_stop_says_when_its_signal_is_sent(harness, tmp_path):
    """``on_sent`` runs once, after the stop signal went out and before the wait (the
    shutdown's backlog: every signal before anyone's bookkeeping)."""
    proc, pid = harness.probe(tmp_path / "rec")
    seen = []
    proc.on_sent = lambda: seen.append(proc.last_exit)
    proc.stop()
    assert seen == [None]  # the process had not been collected yet: the wait came after
    assert proc.last_exit is not None and not alive(pid)


@integration
def test_children_reap_counts_the_ones_still_running(harness, tmp_path):
    """Children.reap() returns how many spawned children are still running."""
    quick = harness.process(probe_argv(tmp_path / "q", "--exit", "0"), name="q")
    slow, _ = harness.probe(tmp_path / "s", name="s")
    quick.start()  # exits by itself; nothing to kill
    wait_until(lambda: harness.children.reap() == 1, what="only the slow probe running")
    slow.stop()
    assert harness.children.reap() == 0


@integration
@pytest.mark.parametrize("command", [["/nonexistent/godpy-missing"], "godpy-no-such-binary -x"])
def test_missing_binary_fails_to_start_cleanly(harness, tmp_path, command):
    """A start command that cannot be exec'd sets last_exit, logs, and raises nothing."""
    proc = harness.process(command)
    proc.start()
    assert proc.last_exit.startswith("failed to start: ")
    assert proc.current_pid() is None
    assert not (tmp_path / "probe.pid").exists()
    assert any(level == 40 and "start failed" in text for level, text in harness.log.lines)


@integration
def test_start_command_with_unbalanced_quote_fails_to_start_cleanly(harness):
    """A start command shlex cannot split is a 'failed to start', not an exception."""
    proc = harness.process("echo 'unterminated")
    proc.start()
    assert proc.last_exit == "failed to start: No closing quotation"
    assert proc.current_pid() is None


@integration
def test_stop_command_with_unbalanced_quote_still_stops_the_process(harness, tmp_path):
    """A stop command that cannot run is logged; the process is then SIGKILLed."""
    proc, pid = harness.probe(tmp_path / "rec", stop="kill 'oops", stop_timeout=1)
    proc.stop()
    assert "stop command failed to run: No closing quotation" in harness.log.text()
    assert proc.last_exit == "killed by SIGKILL"
    assert not alive(pid)


@integration
def test_log_in_a_missing_directory_fails_to_start_cleanly(harness, tmp_path):
    """A log file that cannot be opened is a 'failed to start', not an exception."""
    proc = harness.process(["sleep", "60"], log=str(tmp_path / "no" / "such" / "dir.log"))
    proc.start()
    assert proc.last_exit.startswith("failed to start: ")
    assert proc.current_pid() is None
    assert harness.children.reap() == 0


@integration
def test_unwritable_pid_file_is_logged_and_the_process_still_runs(harness, tmp_path):
    """If the pid file cannot be written, godpy warns and keeps tracking its child."""
    missing = tmp_path / "missing"
    proc, pid = harness.probe(tmp_path / "rec", pid_file_directory=str(missing))
    assert proc.current_pid() == pid
    assert f"could not write pid file {missing / 'probe.pid'}" in harness.log.text()


@integration
def test_uptime_is_known_while_running_only(harness, tmp_path):
    """uptime() counts from the process's start time, and is None once it is stopped."""
    proc, _ = harness.probe(tmp_path / "rec")
    assert 0 <= proc.uptime() < 3600
    proc.stop()
    assert proc.uptime() is None


@integration
def test_stops_in_parallel_threads_all_escalate_to_sigkill(harness, tmp_path, capsys):
    """Four TERM-ignoring processes stopped from four threads are all SIGKILLed."""
    procs = [
        harness.probe(tmp_path / f"rec{n}", "--ignore-term", name=f"p{n}", stop_timeout=1)[0]
        for n in range(4)
    ]
    began = time.monotonic()
    threads = [threading.Thread(target=p.stop) for p in procs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with capsys.disabled():
        print(f"\n4 parallel stops took {time.monotonic() - began:.2f}s")
    assert [p.last_exit for p in procs] == ["killed by SIGKILL"] * 4
    assert harness.log.text().count("sent SIGKILL") == 4


@integration
def test_configured_env_wins_over_the_users_defaults(throwaway_user, harness):
    """With uid set, an explicit env HOME beats the user's HOME; USER still comes from uid."""
    u = throwaway_user
    proc = harness.process(
        ["sleep", "60"], credentials=Credentials.resolve(uid=u.name), env={"HOME": "/srv/app"}
    )
    env = proc_environ(harness.start(proc))
    assert env["HOME"] == "/srv/app" and env["USER"] == u.name


@integration
def test_reading_pid_is_a_pure_read(harness, tmp_path):
    """`pid` changes nothing: a dead child is not reaped by reading it (it stays a zombie
    until the driver's current_pid() or reap()), and no exit is recorded meanwhile."""
    proc = harness.process(["sh", "-c", "exit 4"])
    proc.start()
    child = proc._popen.pid
    wait_until(lambda: proc.pid is None, what="the child gone")
    assert os.path.exists(f"/proc/{child}")  # a zombie: nobody reaped it
    assert proc.last_exit is None
    assert proc.current_pid() is None
    assert proc.last_exit == "exited with code 4"
    assert not os.path.exists(f"/proc/{child}")
