"""A service's user cannot turn the root daemon against files or processes it could not
touch itself: logs opened as the user, pid files trusted only for the user's processes,
deletions done as the user, a clean environment (real users, files and processes)."""

import os
import subprocess
import tempfile

import pytest
from conftest import alive, wait_until

from godpy.credentials import Credentials
from godpy.pids import age
from godpy.process import Children, Process, ProcessSpec
from godpy.process_group import live_members
from godpy.watch import Watch

pytestmark = pytest.mark.integration


@pytest.fixture
def secret(tmp_path):
    """A root-only file with known content."""
    path = tmp_path / "secret"
    path.write_text("root only\n")
    os.chmod(path, 0o600)
    return path


@pytest.fixture
def made(pids):
    """Build Processes; every one is stopped (and its pids killed) at teardown."""
    children, procs = Children(), []

    def build(start, **spec):
        spec.setdefault("name", "svc")
        spec.setdefault("pid_file_directory", tempfile.mkdtemp(prefix="godpy-pids-"))
        proc = Process(ProcessSpec(start=start, **spec), lambda *a: None, children)
        procs.append(proc)
        return proc

    yield build
    for proc in procs:
        pid = proc.current_pid()
        if pid:
            pids.add(pid)
        proc.stop()


def as_user(user, *argv):
    """Run a command as the throwaway user (what an attacker with its shell can do)."""
    subprocess.run(["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups",
                    *argv], check=True, capture_output=True, timeout=30)  # fmt: skip


def read(path):
    with open(path) as fh:
        return fh.read()


def creds(user):
    return Credentials.resolve(uid=user.uid)


def test_log_symlinked_to_a_root_file_is_not_written(throwaway_user, user_home, secret, made):
    """The user swaps its log for a symlink to a root-only file: the restart fails to open
    it (reason in last_exit) and the root file is untouched."""
    log = os.path.join(user_home, "app.log")
    proc = made(["sh", "-c", "echo pwned; sleep 60"], credentials=creds(throwaway_user), log=log)
    proc.start()
    wait_until(lambda: os.path.exists(log) and "pwned" in read(log))
    assert os.stat(log).st_uid == throwaway_user.uid  # created by the user, not by root
    proc.stop()
    as_user(throwaway_user, "sh", "-c", f"rm {log} && ln -s {secret} {log}")
    proc.start()
    wait_until(lambda: proc.current_pid() is None and proc.last_exit, what="the start to fail")
    assert proc.last_exit == f"failed to start: cannot open {log} as uid {throwaway_user.uid}"
    assert secret.read_text() == "root only\n"


def test_log_symlink_cannot_create_a_root_file(throwaway_user, user_home, tmp_path, made):
    """A symlink to a missing file in a root-only folder creates nothing there."""
    log, target = os.path.join(user_home, "app.log"), tmp_path / "cron-line"
    as_user(throwaway_user, "ln", "-s", str(target), log)
    proc = made(["sleep", "60"], credentials=creds(throwaway_user), log=log)
    proc.start()
    wait_until(lambda: proc.current_pid() is None and proc.last_exit, what="the start to fail")
    assert not target.exists()


def test_same_user_log_refuses_a_symlink(tmp_path, made):
    """Without a uid switch the daemon opens the log itself, never through a symlink."""
    log = tmp_path / "app.log"
    os.symlink(tmp_path / "elsewhere", log)
    proc = made(["sleep", "60"], log=str(log))
    proc.start()
    assert proc.last_exit.startswith("failed to start: [Errno 40]")
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("who", ["pid 1", "root's process", "older process"])
def test_pid_file_naming_a_process_the_user_does_not_own_is_ignored(
    throwaway_user, user_home, made, pids, who
):
    """A pid file the user writes proves nothing: pid 1, another user's process, or one
    started before the watch's start command are never adopted (nor signalled)."""
    pid_file = os.path.join(user_home, "app.pid")
    spec = {"pid_file": pid_file, "credentials": creds(throwaway_user), "pid_file_grace": 0.2}
    proc = made(["sh", "-c", "exit 0"], **spec)
    if who == "pid 1":
        target = 1
    elif who == "root's process":
        target = pids.add(subprocess.Popen(["sleep", "60"], start_new_session=True).pid)
    else:
        older = subprocess.Popen(
            ["setpriv", f"--reuid={throwaway_user.uid}", f"--regid={throwaway_user.gid}",
             "--clear-groups", "sleep", "60"], start_new_session=True,
        )  # fmt: skip
        target = pids.add(older.pid)
        wait_until(lambda: str(throwaway_user.uid) in read(f"/proc/{target}/status"))
        # start times have a one-second slack: make it clearly older than the start
        wait_until(lambda: age(target) > 1.5, what="an older process")
    proc.start()  # the start command "daemonizes" (exits 0) and then the user plants a pid
    as_user(throwaway_user, "sh", "-c", f"echo {target} > {pid_file}")
    assert proc.current_pid() is None
    proc.stop()
    assert target == 1 or alive(target)


def test_pid_file_of_the_users_own_new_process_is_adopted(throwaway_user, user_home, made, pids):
    """The control: a process of the user, started by the start command, is adopted."""
    pid_file = os.path.join(user_home, "app.pid")
    daemonize = f"sleep 60 </dev/null >/dev/null 2>&1 & echo $! > {pid_file}"
    proc = made(["sh", "-c", daemonize], pid_file=pid_file, credentials=creds(throwaway_user))
    proc.start()
    pid = pids.add(wait_until(lambda: proc.current_pid()))
    # $! is the shell's forked child, which becomes sleep once it has exec'd
    wait_until(lambda: read(f"/proc/{pid}/comm").strip() == "sleep", what="sleep exec'd")


def test_clean_pid_file_deletes_as_the_user(throwaway_user, user_home, tmp_path, made):
    """remove_file runs as the user: a pid path the user redirects into a root folder
    deletes nothing there, and the error says why."""
    victim = tmp_path / "app.pid"
    victim.write_text("1")
    run_dir = os.path.join(user_home, "run")
    as_user(throwaway_user, "ln", "-s", str(tmp_path), run_dir)
    proc = made(["sleep", "60"], credentials=creds(throwaway_user))
    with pytest.raises(OSError, match="cannot delete .* as uid"):
        proc.remove_file(os.path.join(run_dir, "app.pid"))
    assert victim.exists()
    mine = os.path.join(user_home, "mine.pid")
    as_user(throwaway_user, "touch", mine)
    assert proc.remove_file(mine) is True and not os.path.exists(mine)
    assert proc.remove_file(mine) is False


def test_other_user_gets_a_clean_environment(throwaway_user, made, pids, monkeypatch):
    """A watch running as another user inherits no secret from godpy's environment;
    inherit_env=True restores it; env adds to either."""
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("TZ", "UTC")
    clean = made(["sleep", "60"], credentials=creds(throwaway_user), env={"APP": "1"})
    clean.start()
    env = environ(pids.add(wait_until(lambda: clean.current_pid())))
    assert "SMTP_PASSWORD" not in env
    assert (env["APP"], env["TZ"], env["USER"]) == ("1", "UTC", throwaway_user.name)
    assert env["PATH"]
    full = made(["sleep", "60"], name="full", credentials=creds(throwaway_user),
                inherit_env=True)  # fmt: skip
    full.start()
    assert environ(pids.add(wait_until(lambda: full.current_pid())))["SMTP_PASSWORD"] == "hunter2"


def environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as fh:
        entries = fh.read().decode().split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


@pytest.mark.parametrize("mode", [0o1777, 0o777, 0o775])
def test_pid_folder_writable_by_others_is_refused(tmp_path, mode):
    """A pid_file folder others can write (sticky or not) is a config problem."""
    folder = tmp_path / "run"
    folder.mkdir()
    os.chmod(folder, mode)
    w = Watch(name="w", start="sleep 1", pid_file=str(folder / "app.pid"))
    w.build(str(tmp_path), Children())
    (problem,) = [p for p in w.valid() if "pid_file folder" in p]
    assert problem.startswith(f"watch 'w': pid_file folder {folder} is not safe: {folder} is ")


def test_pid_file_directory_writable_by_others_is_refused(tmp_path):
    """The same for pid_file_directory (the files godpy writes for its children)."""
    folder = tmp_path / "pids"
    folder.mkdir()
    os.chmod(folder, 0o1777)
    w = Watch(name="w", start="sleep 1")
    w.build(str(folder), Children())
    assert any("pid_file_directory" in p and "not safe" in p for p in w.valid())


def test_root_watch_log_in_a_folder_the_user_owns_is_refused(throwaway_user, user_home, tmp_path):
    """A watch running as godpy's user opens its log itself: a folder on the way that the
    service user owns (it could swap a folder for a symlink) is a config problem."""
    w = Watch(name="w", start="sleep 1", log=os.path.join(user_home, "sub", "app.log"))
    os.mkdir(os.path.join(user_home, "sub"))
    w.build(str(tmp_path), Children())
    (problem,) = [p for p in w.valid() if "log folder" in p]
    assert f"log folder {user_home}/sub is not safe: {user_home}" in problem
    assert problem.endswith(
        "or set w.uid to the user who owns it (the log is then opened as that user)"
    )
    mine = Watch(name="w", start="sleep 1", uid=throwaway_user.name, log=w.log)
    mine.build(str(tmp_path), Children())
    assert not [p for p in mine.valid() if "log folder" in p]


def test_pid_file_rewritten_by_the_user_does_not_lose_the_process(
    throwaway_user, user_home, made, pids
):
    """`echo 1 > app.pid` while the real process runs: godpy keeps watching the real one
    (it neither adopts pid 1 nor calls the live process exited)."""
    pid_file = os.path.join(user_home, "app.pid")
    daemonize = f"sleep 60 </dev/null >/dev/null 2>&1 & echo $! > {pid_file}"
    proc = made(["sh", "-c", daemonize], pid_file=pid_file, credentials=creds(throwaway_user))
    proc.start()
    pid = pids.add(wait_until(lambda: proc.current_pid()))
    as_user(throwaway_user, "sh", "-c", f"echo 1 > {pid_file}")
    assert proc.current_pid() == pid
    proc.stop()
    assert not alive(pid)


def test_pid_file_watch_restarts_at_once_when_the_old_group_is_empty(made, tmp_path, pids):
    """After a kill -9 that leaves nothing of the group, settle does not wait out
    pid_file_grace (30 s here) for a new pid file."""
    pid_file = str(tmp_path / "app.pid")
    daemonize = f"sleep 60 </dev/null >/dev/null 2>&1 & echo $! > {pid_file}"
    proc = made(["setsid", "sh", "-c", daemonize], pid_file=pid_file, pid_file_grace=30)
    proc.start()
    pid = pids.add(wait_until(lambda: proc.current_pid()))
    os.kill(pid, 9)
    wait_until(lambda: not alive(pid))
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        settled = pool.submit(proc.settle)
        assert settled.result(timeout=15) is False  # nothing to adopt: start anew


def test_group_of_a_dead_trusted_leader_is_cleaned_up_with_other_users_workers(
    throwaway_user, made, tmp_path, pids
):
    """A self-daemonizing master that led its group (nginx with `daemon on`) dies by kill
    -9: its workers, running as another user, are still stopped before the next start
    (the group was vouched for by the trusted master while it lived)."""
    pid_file = str(tmp_path / "master.pid")
    worker = (
        f"setpriv --reuid={throwaway_user.uid} --regid={throwaway_user.gid} --clear-groups "
        "sleep 300"
    )
    master = f"echo $$ > {pid_file}; {worker} </dev/null >/dev/null 2>&1 & exec sleep 301"
    proc = made(["setsid", "sh", "-c", master], pid_file=pid_file, pid_file_grace=0.3,
                stop_timeout=2)  # fmt: skip
    proc.start()
    leader = pids.add(wait_until(lambda: proc.current_pid()))
    members = wait_until(lambda: [p for p in live_members(leader) if p != leader])
    for pid in members:
        pids.add(pid)
    os.kill(leader, 9)
    wait_until(lambda: not alive(leader))
    assert proc.settle() is False
    assert not any(alive(pid) for pid in members)
