"""Program output through the output keeper, with a real daemon: rotation, ``godpy
tail`` (with and without a log file), log commands, and capture that survives a kill -9
of the daemon or of the keeper itself."""

import os
import signal
import sys
from pathlib import Path

import pytest
from cli_helpers import HEAD, cli, start_daemon, wait_all_up
from conftest import alive, pipes_of, wait_until

pytestmark = pytest.mark.integration

#: prints 2 MB (20,000 lines of 100 bytes), one line to stderr, then waits
CHATTY = (
    "import sys, time\n"
    "for i in range(20000): sys.stdout.write('line %06d %s\\n' % (i, 'x' * 88))\n"
    "sys.stdout.flush(); sys.stderr.write('oops\\n'); sys.stderr.flush(); time.sleep(600)\n"
)
#: one numbered line every 50 ms, for ever
TICKER = (
    "import itertools, sys, time\n"
    "for i in itertools.count():\n"
    "    print('tick', i, flush=True); time.sleep(0.05)\n"
)


def watch_block(name, code, *lines):
    text = ["with God.watch() as w:", f"    w.name = {name!r}",
            f"    w.start = {[sys.executable, '-c', code]!r}"]  # fmt: skip
    text += [f"    {line}" for line in lines]
    text.append("    w.keepalive()")
    return "\n".join(text) + "\n"


def config(tmp_path, *blocks):
    return HEAD.format(pids=str(tmp_path / "pids")) + "".join(blocks)


def keeper_pid(daemon_pid, role=b"output_keeper.py"):
    """The output keeper (or, with ``role=b"--hold"``, the spare) among the daemon's
    children."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if ppid != daemon_pid or not any(a.endswith(b"output_keeper.py") for a in argv):
            continue
        if (b"--hold" in argv) == (role == b"--hold"):
            return int(entry)
    return None


def tail(run, *args):
    result = cli("tail", *args, socket=run.socket)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_rotation_leaves_the_log_and_its_backups(godpy_run, tmp_path):
    log = tmp_path / "chatty.log"
    run = start_daemon(godpy_run, config(tmp_path, watch_block(
        "chatty", CHATTY, f"w.log = {str(log)!r}", 'w.log_max_size = "200KB"',
        "w.log_backups = 2")))  # fmt: skip
    wait_all_up(run.socket)
    wait_until(lambda: "oops" in tail(run, "chatty", "--stderr"), what="all output drained")
    wait_until(lambda: log.exists() and log.read_bytes().endswith(b"oops\n"))
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("chatty.log"))
    assert names == ["chatty.log", "chatty.log.1", "chatty.log.2"]
    for name in ("chatty.log.1", "chatty.log.2"):
        assert 190 * 1024 < (tmp_path / name).stat().st_size <= 200 * 1024
    # nothing lost or cut between the files: .2, .1 and the log follow on line by line
    text = "".join(
        (tmp_path / n).read_text() for n in ("chatty.log.2", "chatty.log.1", "chatty.log")
    )
    numbers = [int(line.split()[1]) for line in text.splitlines() if line != "oops"]
    assert numbers == list(range(numbers[0], 20000))
    assert tail(run, "chatty", "-n", "1") == "line 019999 " + "x" * 88 + "\n"


def test_tail_without_a_log_file(godpy_run, tmp_path):
    code = "import sys, time\nprint('hello out', flush=True)\n" \
        "print('hello err', file=sys.stderr, flush=True)\ntime.sleep(600)\n"  # fmt: skip
    run = start_daemon(godpy_run, config(tmp_path, watch_block("plain", code)))
    wait_all_up(run.socket)
    wait_until(lambda: tail(run, "plain") == "hello out\n")
    assert tail(run, "plain", "--stderr") == "hello err\n"
    refused = cli("tail", "plian", socket=run.socket)
    assert refused.returncode != 0 and "plain" in refused.stderr  # did you mean


def test_tail_follow_prints_new_output(godpy_run, tmp_path):
    import subprocess

    from cli_helpers import cli_popen

    run = start_daemon(godpy_run, config(tmp_path, watch_block("ticker", TICKER)))
    wait_all_up(run.socket)
    follower = cli_popen("tail", "-f", "-n", "1", "ticker", socket=run.socket,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        seen = [follower.stdout.readline() for _ in range(5)]
        numbers = [int(line.split()[1]) for line in seen]
        assert numbers == list(range(numbers[0], numbers[0] + 5))  # in order, none lost
        follower.send_signal(signal.SIGINT)
        assert follower.wait(10) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


def test_log_command_receives_the_output(godpy_run, tmp_path):
    piped = tmp_path / "piped.txt"
    code = "import time\nprint('to the command', flush=True)\ntime.sleep(600)\n"
    run = start_daemon(godpy_run, config(tmp_path, watch_block(
        "piped", code, f"w.log_cmd = 'cat >> {piped}'")))  # fmt: skip
    wait_all_up(run.socket)
    wait_until(lambda: piped.exists() and piped.read_text() == "to the command\n")


def test_capture_survives_a_kill_9_of_the_daemon(godpy_run, tmp_path, pids):
    log = tmp_path / "ticker.log"
    text = config(tmp_path, watch_block("ticker", TICKER, f"w.log = {str(log)!r}"))
    first = start_daemon(godpy_run, text)
    wait_all_up(first.socket)
    keeper = pids.add(keeper_pid(first.proc.pid))
    program = pids.add(int(tmp_path.joinpath("pids", "ticker.pid").read_text()))
    first.proc.kill()
    first.proc.wait()

    def ticks():
        return len(log.read_text().splitlines())

    count = ticks()  # the program goes on writing, nothing blocks, nothing is lost
    wait_until(lambda: ticks() > count + 40, what="ticks written with no daemon")
    assert alive(program) and alive(keeper)
    # a second godpy on the same socket adopts the program and the keeper
    second = godpy_run(text, socket=first.socket)
    second.wait_log("output keeper of an earlier godpy found")
    wait_all_up(second.socket)
    assert int(tmp_path.joinpath("pids", "ticker.pid").read_text()) == program
    last = tail(second, "ticker", "-n", "1")
    wait_until(lambda: tail(second, "ticker", "-n", "1") != last, what="tail moving again")
    lines = log.read_text().splitlines()
    assert [int(x.split()[1]) for x in lines] == list(range(len(lines)))  # nothing lost


def test_a_killed_keeper_is_replaced_and_the_program_lives(godpy_run, tmp_path, pids):
    log = tmp_path / "ticker.log"
    run = start_daemon(godpy_run, config(tmp_path, watch_block(
        "ticker", TICKER, f"w.log = {str(log)!r}")))  # fmt: skip
    wait_all_up(run.socket)
    program = int(tmp_path.joinpath("pids", "ticker.pid").read_text())
    old = pids.add(keeper_pid(run.proc.pid))
    os.kill(old, signal.SIGKILL)
    run.wait_log("output keeper has gone; starting another")
    new = wait_until(lambda: (keeper_pid(run.proc.pid) or old) != old and keeper_pid(run.proc.pid),
                     what="a new keeper")  # fmt: skip
    pids.add(new)
    size = log.stat().st_size
    wait_until(lambda: log.stat().st_size > size + 100, what="output reaching the log again")
    assert int(tmp_path.joinpath("pids", "ticker.pid").read_text()) == program  # no SIGPIPE
    assert alive(program)


def ticker_pid(tmp_path):
    return int(tmp_path.joinpath("pids", "ticker.pid").read_text())


def restart_ticker(run, tmp_path):
    old = ticker_pid(tmp_path)
    result = cli("restart", "ticker", socket=run.socket)
    assert result.returncode == 0, result.stderr
    wait_until(lambda: ticker_pid(tmp_path) != old, what="a new ticker")
    wait_all_up(run.socket)
    return ticker_pid(tmp_path)


def test_between_starts_the_daemon_holds_no_end_of_a_watchs_pipes(godpy_run, tmp_path):
    """The spare keeps both ends; each start borrows the write ends (a fork copies every
    descriptor godpy holds). The program's output goes on into the same pipe."""
    log = tmp_path / "ticker.log"
    run = start_daemon(godpy_run, config(tmp_path, watch_block(
        "ticker", TICKER, f"w.log = {str(log)!r}")))  # fmt: skip
    wait_all_up(run.socket)
    stdout = os.readlink(f"/proc/{ticker_pid(tmp_path)}/fd/1")
    for _ in range(2):  # the first start lends the ends; the next ones borrow them
        program = restart_ticker(run, tmp_path)
    assert os.readlink(f"/proc/{program}/fd/1") == stdout  # the same pipe, start after start
    assert stdout in pipes_of(keeper_pid(run.proc.pid, b"--hold"))
    assert stdout not in pipes_of(run.proc.pid)
    size = log.stat().st_size
    wait_until(lambda: log.stat().st_size > size + 100, what="output reaching the log")


def test_a_killed_spare_costs_a_watch_neither_its_start_nor_its_output(godpy_run, tmp_path, pids):
    log = tmp_path / "ticker.log"
    run = start_daemon(godpy_run, config(tmp_path, watch_block(
        "ticker", TICKER, f"w.log = {str(log)!r}")))  # fmt: skip
    wait_all_up(run.socket)
    restart_ticker(run, tmp_path)  # its write ends are now in the spare only
    spare = pids.add(keeper_pid(run.proc.pid, b"--hold"))
    os.kill(spare, signal.SIGKILL)
    wait_until(lambda: not alive(spare), what="the spare gone")
    program = restart_ticker(run, tmp_path)
    run.wait_log("cannot borrow write ends from the spare")
    assert pipes_of(run.proc.pid) & {os.readlink(f"/proc/{program}/fd/1")}  # godpy keeps them
    wait_until(lambda: "tick" in tail(run, "ticker", "-n", "1"), what="tail of the new ticker")
    size = log.stat().st_size
    wait_until(lambda: log.stat().st_size > size + 100, what="output reaching the log")
    assert alive(program)


def test_terminate_ends_the_keeper(godpy_run, tmp_path):
    run = start_daemon(godpy_run, config(tmp_path, watch_block("ticker", TICKER)))
    wait_all_up(run.socket)
    keeper = keeper_pid(run.proc.pid)
    assert run.terminate() == 0
    wait_until(lambda: not alive(keeper), what="the keeper to end")
    assert not os.path.exists(run.socket + ".output")


def test_a_log_the_user_swapped_for_a_symlink_fails_the_start(
    throwaway_user, user_home, godpy_run, tmp_path
):
    """The keeper opens a service user's log with that user's rights and never through a
    symlink: a log swapped for a link to a root file fails the start, with the reason,
    and the root file is untouched."""
    folder = Path(user_home)
    secret = tmp_path / "secret"
    secret.write_text("root only\n")
    os.chmod(secret, 0o600)
    log = folder / "app.log"
    os.symlink(secret, log)
    os.lchown(log, throwaway_user.uid, throwaway_user.gid)
    run = start_daemon(godpy_run, config(tmp_path, watch_block(
        "svc", "import time; time.sleep(600)", f"w.uid = {throwaway_user.uid}",
        f"w.log = {str(log)!r}")))  # fmt: skip
    status = wait_until(
        lambda: "cannot open" in (out := cli("status", "svc", socket=run.socket).stdout) and out,
        what="the failed start in status",
    )
    assert f"cannot open {log} as uid {throwaway_user.uid}: Too many levels" in status
    assert secret.read_text() == "root only\n"


def test_a_service_users_log_is_created_and_rotated_as_that_user(
    throwaway_user, user_home, godpy_run, tmp_path
):
    folder = Path(user_home)
    log = folder / "app.log"
    # the user cannot run this venv's python (under /root): a shell writes the lines
    shell = "for i in $(seq -w 0 299); do echo $i $(printf 'y%.0s' $(seq 95)); done; exec sleep 600"
    block = watch_block("svc", "", f"w.uid = {throwaway_user.uid}", f"w.log = {str(log)!r}",
                        'w.log_max_size = "10KB"', "w.log_backups = 1")  # fmt: skip
    block = block.replace(repr([sys.executable, "-c", ""]), repr(["sh", "-c", shell]))
    run = start_daemon(godpy_run, config(tmp_path, block))
    wait_all_up(run.socket)
    wait_until(lambda: "299 y" in tail(run, "svc", "-n", "1"), what="all output drained")
    wait_until(lambda: (folder / "app.log.1").exists() and "299 y" in log.read_text())
    for path in (log, folder / "app.log.1"):
        assert path.stat().st_uid == throwaway_user.uid  # made by the user, not by root
        assert path.stat().st_size <= 10 * 1024
    assert sorted(p.name for p in folder.iterdir()) == ["app.log", "app.log.1"]
