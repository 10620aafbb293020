"""Scale: godpy (and, with ``--peers``, supervisord and Circus) at N watched programs.

Measured for each watch count (``--watches 50 200 1000``; default 50 200), the same way
for every system, on one watched program: ``bench/stamp.c``, compiled here with ``cc``.
First thing in ``main()`` it reads CLOCK_MONOTONIC (the clock of ``time.monotonic_ns()``)
and writes "<pid> <ns>" to its own stamp file (tmp + rename), then sleeps in ``pause()``
in the foreground; SIGTERM makes it exit 0. This script follows the stamp directory with
inotify, so it learns of each new program without polling and never delays the stamp:

- *restart*: ``kill -9`` of one program at a time, round-robin (3 N kills, at most 200,
  ``--pause`` between), from ``time.monotonic_ns()`` just before ``os.kill`` to the
  replacement's stamp (a stamp by another pid, written after the kill): median and p90;
- *burst*: ``kill -9`` of every program at once, from before the first kill to the last
  replacement's stamp (and, for information, to the first);
- *startup*: from the supervisor's first open of its config file (inotify ``IN_OPEN`` on
  that file, read by a thread of this script blocked on it) to the latest of the N first
  stamps: "config read -> every program running", the issue's definition. Also shown:
  from launching the supervisor (interpreter start and imports included), and from
  launch to the earliest stamp;
- *shutdown*: SIGTERM to the supervisor's main process until every program has exited
  (waited on with a pidfd per program; a program that is started meanwhile counts too),
  and until the supervisor itself has exited;
- *idle CPU*: after the burst has recovered and ``--settle-idle`` seconds more, the CPU
  time of the supervisor's main process alone (all its threads, none of its children)
  over ``--idle-seconds``, in % of one core. The figure is read from the process's CPU
  clock (ns; the same quantity as utime + stime); the row below it is utime + stime
  from /proc/PID/stat, whose clock ticks (10 ms) make its resolution 0.1 % over 10 s.
  The targets use the first;
- *RSS and threads*: VmRSS and Threads of that process, right after the idle window;
- *status*: wall time of the status command (``godpy status``, ``supervisorctl status``,
  ``circusctl status``), ``--status-runs`` runs interleaved with the floor that Python
  sets here, ``python -c "import click, Pyro5.client"`` with this interpreter; the table
  shows both medians and their difference.

godpy runs as ``godpy -c CFG -D -l LOG --socket S`` with one watch per program and
``w.keepalive(stable_after="0s")``: every run counts as stable, so every kill takes the
immediate-restart path (with the default of 10 s, a program killed sooner than that
waits out the quick-death backoff, as it should, and the round-robin kills would measure
the backoff). supervisord runs ``nodaemon`` with one ``[program:x]`` each (autorestart,
``startsecs=0``, output discarded like godpy's), Circus with one ``[watcher:x]`` each
(respawn, ipc:// endpoints) and ``check_delay = --circus-check-delay`` (0.1 s): Circus
respawns only from that periodic check (its default is 5 s). Otherwise each peer keeps
its own defaults; supervisord's main loop wakes once a second, which is its behaviour.
The peers are installed with pip in ``--peers-venv`` (created if missing, then reused).

Before measuring, each system is warmed up once with one watch (page cache, .pyc files:
if this environment sets PYTHONDONTWRITEBYTECODE the children get bytecode caching back
in the temporary directory, as in cli_latency.py; ``--as-is`` keeps it). Every phase has
a deadline that grows with N; on every path the supervisor is stopped (SIGTERM, then
SIGKILL) and any program still running is killed by pid (found by its executable, which
lives in this run's temporary directory)::

    .venv/bin/python bench/scale.py [--watches 50 200 1000] [--peers] [--idle-seconds 10]

The targets (from the issue) apply to godpy at 50, 200 and 1000 watches; the RSS target
at 50 is the RSS of ``python -c "import psutil, pyroute2, Pyro5.server, click"`` (measured
here) plus 4 MiB. Exit status: 0 when every target is met, 1 when one is missed, 2 on an
error.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import (
    cpu_clock_ns,
    cpu_seconds,
    enable_bytecode,
    godpy_command,
    percentile,
    rss_and_threads,
    timed,
)

HERE = os.path.dirname(os.path.abspath(__file__))
FLOOR_CODE = "import click, Pyro5.client"
RSS_FLOOR_CODE = (
    "import psutil, pyroute2, Pyro5.server, click\n"
    "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmRSS:')][0])"
)
PEERS_VENV = os.path.expanduser("~/.cache/godpy-bench/peers-venv")

# (count, row key, limit in the row's unit); "rss-floor" means the measured floor + 4 MiB
TARGETS = {
    50: [
        ("burst", 100),
        ("startup", 250),
        ("shutdown", 200),
        ("idle", 0.05),
        ("rss", "rss-floor"),
        ("above", 15),
    ],
    200: [
        ("startup", 800),
        ("shutdown", 300),
        ("idle", 0.1),
        ("rss", 45),
        ("above", 15),
        ("burst", 400),
    ],
    1000: [
        ("startup", 5000),
        ("idle", 0.5),
        ("rss", 120),
        ("above", 50),
        ("restart_med", 3),
    ],
}

# (key, label, format, compare with the peers)
ROWS = [
    ("restart_med", "restart median, ms", "{:.2f}", True),
    ("restart_p90", "restart p90, ms", "{:.2f}", True),
    ("burst", "burst: all back, ms", "{:.1f}", True),
    ("burst_first", "  first one back, ms", "{:.1f}", False),
    ("startup", "startup: config read -> all up, ms", "{:.1f}", True),
    ("startup_launch", "  from launch, ms", "{:.1f}", True),
    ("startup_first", "  launch -> first program up, ms", "{:.1f}", False),
    ("shutdown", "shutdown: programs gone, ms", "{:.1f}", True),
    ("exited", "shutdown: supervisor exit, ms", "{:.1f}", True),
    ("idle", "idle CPU, % of one core", "{:.3f}", True),
    ("idle_ticks", "  same, /proc stat ticks", "{:.2f}", False),
    ("rss", "RSS, MiB", "{:.1f}", True),
    ("threads", "threads", "{:d}", True),
    ("status", "status median, ms", "{:.1f}", True),
    ("floor", "floor median, ms", "{:.1f}", False),
    ("above", "status - floor, ms", "{:+.1f}", False),
]


class BenchError(Exception):
    """Something that makes the measurement impossible (not a missed target)."""


def timeout_for(n: int, base: float, per_watch: float) -> float:
    """A phase's deadline in seconds: ``base`` plus ``per_watch`` for each watch."""
    return base + per_watch * n


# -- the watched program -----------------------------------------------------------------
def compile_program(root: str) -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise BenchError("no C compiler (cc) on PATH")
    binary = os.path.join(root, "scale-stamp")
    done = subprocess.run(
        [cc, "-O2", "-Wall", "-o", binary, os.path.join(HERE, "stamp.c")],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BenchError(f"cc failed:\n{done.stderr}")
    return binary


def is_program(pid: int, binary: str) -> bool:
    """True when ``pid`` is a live (not zombie) process running ``binary``."""
    try:
        return os.readlink(f"/proc/{pid}/exe") == binary
    except OSError:
        return False


def find_programs(binary: str) -> list[int]:
    """Every live process running ``binary`` (unique to this run's temporary directory)."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and is_program(int(p), binary)]


def kill_programs(binary: str) -> list[int]:
    """SIGKILL every process running ``binary``, by pid; return their pids."""
    pids = find_programs(binary)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


# -- the stamps, followed with inotify ---------------------------------------------------
IN_OPEN = 0x00000020
IN_MOVED_TO = 0x00000080
IN_Q_OVERFLOW = 0x00004000
_INOTIFY_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then the name


class FirstOpen:
    """When a file is first opened (inotify IN_OPEN): a thread blocks on the event and
    reads the clock as it wakes, so the time is late by a wake-up at most."""

    def __init__(self, path: str):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, os.fsencode(path), IN_OPEN) < 0:
            raise BenchError(f"inotify on {path}: {os.strerror(ctypes.get_errno())}")
        self.ns: int | None = None
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        try:
            os.read(self.fd, 4096)
            self.ns = time.monotonic_ns()
        except OSError:
            pass

    def result(self, timeout: float) -> int | None:
        self._thread.join(timeout)
        os.close(self.fd)  # wakes the thread if the file was never opened
        return self.ns


class StampDir:
    """The latest (pid, ns) stamp of each program, updated from inotify's IN_MOVED_TO."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(path, exist_ok=True)
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise BenchError(f"inotify_init1: {os.strerror(ctypes.get_errno())}")
        if libc.inotify_add_watch(self.fd, os.fsencode(path), IN_MOVED_TO) < 0:
            os.close(self.fd)
            raise BenchError(f"inotify_add_watch {path}: {os.strerror(ctypes.get_errno())}")
        self.stamps: dict[str, tuple[int, int]] = {}

    def close(self) -> None:
        os.close(self.fd)

    def _read(self, name: str) -> tuple[int, int] | None:
        try:
            with open(os.path.join(self.path, name)) as fh:
                pid, ns = fh.read().split()
            return int(pid), int(ns)
        except (OSError, ValueError):
            return None

    def drain(self) -> set[str]:
        """Read the pending events and the stamps they name; return those names."""
        names: set[str] = set()
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                _wd, mask, _cookie, length = _INOTIFY_EVENT.unpack_from(data, offset)
                start = offset + _INOTIFY_EVENT.size
                name = data[start : start + length].rstrip(b"\0").decode()
                offset = start + length
                if mask & IN_Q_OVERFLOW:
                    names.update(n for n in os.listdir(self.path) if not n.endswith(".tmp"))
                elif name and not name.endswith(".tmp"):
                    names.add(name)
        for name in names:
            stamp = self._read(name)
            if stamp:
                self.stamps[name] = stamp
        return names

    def wait_new(self, olds: dict[str, int | None], since_ns: int, timeout: float) -> dict:
        """Wait until each name in ``olds`` has a stamp written after ``since_ns`` by a pid
        other than ``olds[name]``; return {name: ns} for those that did within ``timeout``."""
        got: dict[str, int] = {}
        pending = set(olds)

        def check(names) -> None:
            for name in names & pending:
                stamp = self.stamps.get(name)
                if stamp and stamp[0] != olds[name] and stamp[1] > since_ns:
                    got[name] = stamp[1]
                    pending.discard(name)

        self.drain()
        check(set(pending))
        deadline = time.monotonic() + timeout
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            readable, _, _ = select.select([self.fd], [], [], remaining)
            if readable:
                time.sleep(0.001)  # let a burst of stamps queue up: one read for many
                check(self.drain())
        return got

    def pids(self, names: list[str]) -> dict[str, int]:
        self.drain()
        return {name: self.stamps[name][0] for name in names if name in self.stamps}


# -- the supervisors ---------------------------------------------------------------------
class Supervisor:
    """One supervisor running ``n`` stamp programs from its own directory."""

    kind = "?"

    def __init__(self, args, root: str, n: int, program: str, tag: str = ""):
        self.args = args
        self.n = n
        self.program = program
        self.dir = os.path.join(root, f"{self.kind}-{n}{tag}")
        self.stamp_dir = os.path.join(self.dir, "stamps")
        self.names = [f"scale-{i}" for i in range(n)]
        self.proc: subprocess.Popen | None = None
        os.makedirs(self.stamp_dir)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def stamp(self, name: str) -> str:
        return os.path.join(self.stamp_dir, name)

    def write_config(self) -> None:
        raise NotImplementedError

    def write_ini(self, filename: str, head: str, entry: str) -> None:
        """An INI config (supervisord's, Circus's): ``head``, then ``entry`` per program."""
        parts = [head]
        for name in self.names:
            parts.append(entry.format(name=name, program=self.program, stamp=self.stamp(name)))
        with open(self.path(filename), "w") as fh:
            fh.write("".join(parts))

    def command(self) -> list[str]:
        raise NotImplementedError

    def status_cmd(self) -> list[str]:
        raise NotImplementedError

    def launch(self) -> None:
        with open(self.path("supervisor.out"), "wb") as out:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=self.dir,
                start_new_session=True,  # ^C on the bench is ours to handle
            )

    def main_pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float) -> int | None:
        """Make sure the supervisor is gone: SIGTERM, then SIGKILL; its exit code."""
        if self.proc is None:
            return None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"{self.kind}: still running {timeout:g} s after {sig.name}", file=sys.stderr)
        return self.proc.wait()


GODPY_CONFIG = """\
from godpy import God


God.pid_file_directory = {pid_dir!r}

for n in range({watches}):
    with God.watch() as w:
        w.name = f"scale-{{n}}"
        w.start = [{program!r}, f"{stamp_dir}/scale-{{n}}"]
        w.keepalive(stable_after="0s")
"""


class Godpy(Supervisor):
    kind = "godpy"
    config_name = "scale.god.py"

    def write_config(self) -> None:
        with open(self.path("scale.god.py"), "w") as fh:
            fh.write(
                GODPY_CONFIG.format(
                    pid_dir=self.path("pids"),
                    watches=self.n,
                    program=self.program,
                    stamp_dir=self.stamp_dir,
                )
            )

    def _godpy(self) -> list[str]:
        return shlex.split(self.args.godpy) if self.args.godpy else godpy_command()

    def command(self) -> list[str]:
        return [
            *self._godpy(),
            *("-c", self.path("scale.god.py"), "-D"),
            *("-l", self.path("godpy.log"), "--socket", self.path("godpy.sock")),
        ]

    def status_cmd(self) -> list[str]:
        return [*self._godpy(), "status", "--socket", self.path("godpy.sock")]


SUPERVISORD_HEAD = """\
[unix_http_server]
file = {dir}/supervisor.sock

[supervisord]
nodaemon = true
logfile = {dir}/supervisord.log
pidfile = {dir}/supervisord.pid
childlogdir = {dir}
minfds = {minfds}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://{dir}/supervisor.sock
"""
SUPERVISORD_PROGRAM = """
[program:{name}]
command = {program} {stamp}
autorestart = true
startsecs = 0
startretries = 1000000
stopsignal = TERM
stdout_logfile = NONE
stderr_logfile = NONE
"""


class Supervisord(Supervisor):
    kind = "supervisord"
    config_name = "supervisord.conf"

    def write_config(self) -> None:
        head = SUPERVISORD_HEAD.format(dir=self.dir, minfds=max(1024, 4 * self.n + 256))
        self.write_ini("supervisord.conf", head, SUPERVISORD_PROGRAM)

    def command(self) -> list[str]:
        supervisord = os.path.join(self.args.peers_venv, "bin", "supervisord")
        return [supervisord, "-n", "-c", self.path("supervisord.conf")]

    def status_cmd(self) -> list[str]:
        ctl = os.path.join(self.args.peers_venv, "bin", "supervisorctl")
        return [ctl, "-c", self.path("supervisord.conf"), "status"]


CIRCUS_HEAD = """\
[circus]
endpoint = ipc://{dir}/circus-ctl.sock
pubsub_endpoint = ipc://{dir}/circus-pub.sock
stats_endpoint = ipc://{dir}/circus-stats.sock
check_delay = {check_delay}
statsd = false
httpd = false
"""
CIRCUS_WATCHER = """
[watcher:{name}]
cmd = {program}
args = {stamp}
numprocesses = 1
respawn = true
stop_signal = TERM
"""


class Circus(Supervisor):
    kind = "circus"
    config_name = "circus.ini"

    def write_config(self) -> None:
        head = CIRCUS_HEAD.format(dir=self.dir, check_delay=self.args.circus_check_delay)
        self.write_ini("circus.ini", head, CIRCUS_WATCHER)

    def command(self) -> list[str]:
        circusd = os.path.join(self.args.peers_venv, "bin", "circusd")
        return [circusd, "--log-output", self.path("circusd.log"), self.path("circus.ini")]

    def status_cmd(self) -> list[str]:
        ctl = os.path.join(self.args.peers_venv, "bin", "circusctl")
        return [ctl, "--endpoint", f"ipc://{self.dir}/circus-ctl.sock", "status"]


# -- the phases --------------------------------------------------------------------------
def start(sup: Supervisor, stamps: StampDir, result: dict) -> None:
    """Launch; the startup time; then wait until the status command says all is up."""
    sup.write_config()
    opened = FirstOpen(sup.path(sup.config_name))
    t0 = time.monotonic_ns()
    sup.launch()
    got = stamps.wait_new(dict.fromkeys(sup.names), t0, timeout_for(sup.n, 30, 0.1))
    if len(got) < sup.n:
        code = sup.proc.poll() if sup.proc else None
        raise BenchError(
            f"{sup.kind}: {len(got)} of {sup.n} programs started (exit code {code}); see {sup.dir}"
        )
    read = opened.result(5)
    if read is None:
        raise BenchError(f"{sup.kind}: never opened {sup.config_name}")
    result["startup"] = (max(got.values()) - read) / 1e6
    result["startup_launch"] = (max(got.values()) - t0) / 1e6
    result["startup_first"] = (min(got.values()) - t0) / 1e6
    deadline = time.monotonic() + timeout_for(sup.n, 30, 0.05)
    while True:
        _took, done = timed(sup.status_cmd(), timeout=60)
        if done.returncode == 0:
            break
        if time.monotonic() >= deadline or sup.proc.poll() is not None:
            raise BenchError(f"{sup.kind}: status never exited 0: {done.stdout[-300:]!r}")
        time.sleep(0.2)


def restarts(sup: Supervisor, stamps: StampDir, args, result: dict, notes: list) -> None:
    """Round-robin kill -9, one at a time: kill -> the replacement's stamp."""
    kills = args.kills or min(3 * sup.n, 200)
    latencies, misses = [], 0
    for i in range(kills):
        name = sup.names[i % sup.n]
        pid = stamps.pids([name]).get(name)
        if pid is None or not is_program(pid, sup.program):
            got = stamps.wait_new({name: pid}, 0, args.kill_timeout)  # a late replacement
            pid = stamps.pids([name]).get(name)
            if not got or not is_program(pid, sup.program):
                misses += 1
                continue
        t0 = time.monotonic_ns()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # died on its own just now
            misses += 1
            continue
        got = stamps.wait_new({name: pid}, t0, args.kill_timeout)
        if got:
            latencies.append((got[name] - t0) / 1e6)
        else:
            misses += 1
        time.sleep(args.pause)
    if latencies:
        result["restart_med"] = percentile(latencies, 50)
        result["restart_p90"] = percentile(latencies, 90)
    if misses:
        notes.append(f"{misses} of {kills} kills not replaced within {args.kill_timeout:g} s")


def burst(sup: Supervisor, stamps: StampDir, result: dict, notes: list) -> None:
    """kill -9 of every program at once: the first kill -> the last replacement's stamp."""
    olds = stamps.pids(sup.names)
    t0 = time.monotonic_ns()
    for pid in olds.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    timeout = timeout_for(sup.n, 30, 0.1)
    got = stamps.wait_new(dict(olds), t0, timeout)
    if len(got) == sup.n:
        result["burst"] = (max(got.values()) - t0) / 1e6
        result["burst_first"] = (min(got.values()) - t0) / 1e6
    else:
        notes.append(f"burst: {len(got)} of {sup.n} back within {timeout:g} s")


def idle(sup: Supervisor, stamps: StampDir, args, result: dict, notes: list) -> None:
    """The supervisor's own CPU over the idle window, then its RSS and threads."""
    time.sleep(args.settle_idle)
    pid = sup.main_pid()
    before = stamps.pids(sup.names)
    c0, s0, w0 = cpu_clock_ns(pid), cpu_seconds(pid), time.monotonic()
    time.sleep(args.idle_seconds)
    c1, s1, w1 = cpu_clock_ns(pid), cpu_seconds(pid), time.monotonic()
    rss, threads = rss_and_threads(pid)
    result["idle"] = 100 * (c1 - c0) / 1e9 / (w1 - w0)
    result["idle_ticks"] = 100 * (s1 - s0) / (w1 - w0)
    result["rss"] = rss / 1024
    result["threads"] = threads
    moved = sum(1 for name, p in stamps.pids(sup.names).items() if before.get(name) != p)
    if moved:
        notes.append(f"{moved} programs restarted during the idle window")


def status(sup: Supervisor, args, result: dict, notes: list) -> None:
    """The status command's wall time, interleaved with the floor."""
    floor_cmd = [sys.executable, "-c", FLOOR_CODE]
    for _ in range(3):  # warm up: page cache, .pyc files
        timed(sup.status_cmd(), timeout=60)
        timed(floor_cmd, timeout=60)
    floors, times, bad = [], [], 0
    for _ in range(args.status_runs):
        took, _done = timed(floor_cmd, timeout=60)
        floors.append(took)
        took, done = timed(sup.status_cmd(), timeout=60)
        times.append(took)
        bad += done.returncode != 0
    result["status"] = percentile(times, 50)
    result["floor"] = percentile(floors, 50)
    result["above"] = result["status"] - result["floor"]
    if bad:
        notes.append(f"status exited non-zero in {bad} of {args.status_runs} runs")


def shutdown(sup: Supervisor, stamps: StampDir, result: dict, notes: list) -> None:
    """SIGTERM to the main process: until every program, then the supervisor, has exited."""
    epoll = select.epoll()
    watched: dict[int, int] = {}  # pidfd -> program pid
    main_fd = None

    def watch(pid: int) -> None:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        if not is_program(pid, sup.program):  # exited before pidfd_open, pid reused
            os.close(fd)
            return
        watched[fd] = pid
        epoll.register(fd, select.EPOLLIN)

    try:
        for pid in stamps.pids(sup.names).values():
            watch(pid)
        main_fd = os.pidfd_open(sup.main_pid())
        epoll.register(main_fd, select.EPOLLIN)
        epoll.register(stamps.fd, select.EPOLLIN)
        gone_ns = exited_ns = None
        respawned = 0
        t0 = time.monotonic_ns()
        os.kill(sup.main_pid(), signal.SIGTERM)
        deadline = time.monotonic() + timeout_for(sup.n, 30, 0.1)
        while (gone_ns is None or exited_ns is None) and time.monotonic() < deadline:
            if exited_ns is not None and time.monotonic_ns() - exited_ns > 5e9:
                break  # the supervisor is gone and has left programs behind
            for fd, _ev in epoll.poll(max(0.0, min(1.0, deadline - time.monotonic()))):
                now = time.monotonic_ns()
                if fd == stamps.fd:
                    for name in stamps.drain():
                        pid, ns = stamps.stamps[name]
                        if ns > t0:
                            respawned += 1
                            watch(pid)
                            gone_ns = None
                elif fd == main_fd:
                    exited_ns = now
                    epoll.unregister(fd)
                else:
                    epoll.unregister(fd)
                    os.close(fd)
                    del watched[fd]
                    if not watched:
                        gone_ns = now
        if gone_ns is not None:
            result["shutdown"] = (gone_ns - t0) / 1e6
        else:
            notes.append(f"shutdown: {len(watched)} programs still running")
        if exited_ns is not None:
            result["exited"] = (exited_ns - t0) / 1e6
            code = sup.proc.wait()
            if code != 0:
                notes.append(f"exit code {code} after SIGTERM")
        else:
            notes.append("shutdown: the supervisor did not exit before the deadline")
        if respawned:
            notes.append(f"shutdown: {respawned} programs started after the SIGTERM")
    finally:
        for fd in [*watched, *([main_fd] if main_fd is not None else [])]:
            os.close(fd)
        epoll.close()


def run_one(cls, args, root: str, n: int, program: str, tag: str = "") -> tuple[dict, list]:
    """Every phase for one system at one count; always stops it and its programs."""
    sup = cls(args, root, n, program, tag)
    stamps = StampDir(sup.stamp_dir)
    result: dict = {}
    notes: list[str] = []
    try:
        start(sup, stamps, result)
        if tag:  # a warm-up: launch, status, stop
            return result, notes
        time.sleep(args.settle)
        restarts(sup, stamps, args, result, notes)
        burst(sup, stamps, result, notes)
        idle(sup, stamps, args, result, notes)
        status(sup, args, result, notes)
        shutdown(sup, stamps, result, notes)
    finally:
        sup.stop(timeout_for(n, 30, 0.1))
        stamps.close()
        left = kill_programs(program)
        if left:
            notes.append(f"{len(left)} programs left running after the supervisor exited")
    return result, notes


# -- setup -------------------------------------------------------------------------------
def package_version(python: str, name: str) -> str | None:
    code = f"from importlib.metadata import version; print(version({name!r}))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def setup_peers(venv: str) -> tuple[list, dict, list]:
    """Install supervisor and circus into ``venv`` if needed: (classes, versions, problems)."""
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        print(f"creating {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    versions, problems, classes = {}, [], []
    for package, cls, daemon in (
        ("supervisor", Supervisord, "supervisord"),
        ("circus", Circus, "circusd"),
    ):
        if package_version(python, package) is None:
            print(f"pip install {package} into {venv} ...", flush=True)
            done = subprocess.run(
                [python, "-m", "pip", "install", "-q", package], capture_output=True, text=True
            )
            if done.returncode != 0:
                problems.append(f"pip install {package} failed: {done.stderr.strip()[-400:]}")
                continue
        versions[package] = package_version(python, package)
        done = subprocess.run(
            [os.path.join(venv, "bin", daemon), "--version"], capture_output=True, text=True
        )
        if done.returncode != 0:
            problems.append(f"{daemon} --version failed: {(done.stderr or done.stdout)[-400:]}")
            continue
        classes.append(cls)
    return classes, versions, problems


def raise_fd_limit(n: int) -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * n + 256
    if soft >= want:
        return f"fd limit {soft}"
    new_hard = hard if hard == resource.RLIM_INFINITY or hard >= want else want
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, new_hard))
    return f"fd limit raised {soft} -> {want}"


def rss_floor_mib() -> float:
    """RSS of a Python that imports what the daemon needs (psutil, pyroute2, Pyro5, click)."""
    values = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", RSS_FLOOR_CODE], capture_output=True)
        if done.returncode != 0:
            raise BenchError(f"RSS floor failed: {done.stderr.decode()[-300:]}")
        values.append(int(done.stdout) / 1024)
    return percentile(values, 50)


def godpy_revision() -> str:
    repo = os.path.dirname(HERE)
    head = subprocess.run(
        ["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", repo, "status", "--porcelain", "--", "godpy"], capture_output=True, text=True
    ).stdout.strip()
    return f"{head or '?'}{' + uncommitted changes in godpy/' if dirty else ''}"


# -- the report --------------------------------------------------------------------------
def fmt(value, spec: str) -> str:
    return "-" if value is None else spec.format(value)


def print_table(columns: list, counts: list[int], peers: bool) -> None:
    """columns: (n, kind, result); one ratio column per count when peers ran."""
    layout = []
    for n in counts:
        cols = [c for c in columns if c[0] == n]
        layout.extend(cols)
        if peers and len(cols) > 1:
            layout.append((n, "godpy/best", None))
    width = 13
    print(f"{'':<31}" + "".join(f"{kind:>{width}}" for _n, kind, _r in layout))
    print(f"{'watches':<31}" + "".join(f"{n:>{width}}" for n, _k, _r in layout))
    for key, label, spec, compare in ROWS:
        cells = []
        for n, _kind, result in layout:
            if result is not None:
                cells.append(fmt(result.get(key), spec))
                continue
            mine = next((r.get(key) for m, k, r in columns if m == n and k == "godpy"), None)
            others = [r.get(key) for m, k, r in columns if m == n and k != "godpy"]
            others = [v for v in others if v is not None]
            if compare and mine is not None and others and min(others) > 0:
                cells.append(f"{mine / min(others):.2f}x")
            else:
                cells.append("-")
        print(f"{label:<31}" + "".join(f"{c:>{width}}" for c in cells))


def check_targets(columns: list, rss_floor: float) -> bool:
    labels = {key: label for key, label, _s, _c in ROWS}
    met_all = True
    print("\ntargets for godpy (from the issue):")
    for n, kind, result in columns:
        if kind != "godpy" or n not in TARGETS:
            continue
        for key, limit in TARGETS[n]:
            if limit == "rss-floor":
                limit = rss_floor + 4
            value = result.get(key)
            met = value is not None and value <= limit
            met_all = met_all and met
            shown = "-" if value is None else f"{value:.4g}"
            print(
                f"  {n:>5} watches  {labels[key].strip():<30} <= {limit:<8.4g} "
                f"{shown:>8}  {'MET' if met else 'MISSED'}"
            )
    if not any(kind == "godpy" and n in TARGETS for n, kind, _r in columns):
        print(f"  none at these counts (targets at {', '.join(map(str, TARGETS))} watches)")
    return met_all


# -- main --------------------------------------------------------------------------------
def run(args) -> int:
    began = time.monotonic()
    root = tempfile.mkdtemp(prefix="godpy-scale-")
    note = enable_bytecode(root, args.as_is)
    failed = False
    try:
        program = compile_program(root)
        limit = raise_fd_limit(max(args.watches))
        kinds: list = [Godpy]
        versions: dict = {}
        if args.peers:
            peer_classes, versions, problems = setup_peers(args.peers_venv)
            for problem in problems:
                print(f"peers: {problem}; going on without it", file=sys.stderr)
            kinds += peer_classes
        floor_rss = rss_floor_mib()
        load0 = os.getloadavg()[0]
        print(
            f"godpy scale: {', '.join(map(str, args.watches))} watches; "
            f"{args.idle_seconds:g} s idle window; {args.status_runs} status runs; "
            f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}; {limit}{note}"
        )
        print(
            "; ".join([f"godpy at {godpy_revision()}", *(f"{k} {v}" for k, v in versions.items())])
        )
        print(f"RSS floor (python + psutil, pyroute2, Pyro5.server, click): {floor_rss:.1f} MiB")

        for cls in list(kinds):  # warm-up with one watch; a peer that fails it is left out
            try:
                run_one(cls, args, root, 1, program, tag="-warmup")
            except BenchError as exc:
                if cls is Godpy:
                    raise
                print(f"{cls.kind}: warm-up failed ({exc}); going on without it", file=sys.stderr)
                kinds.remove(cls)

        columns, all_notes = [], []
        for n in args.watches:
            for cls in kinds:
                t0 = time.monotonic()
                try:
                    result, notes = run_one(cls, args, root, n, program)
                except BenchError as exc:
                    if cls is Godpy:
                        raise
                    result, notes = {}, [f"failed: {exc}"]
                took = time.monotonic() - t0
                print(f"  {cls.kind} at {n}: {took:.0f} s", file=sys.stderr, flush=True)
                columns.append((n, cls.kind, result))
                all_notes += [f"{cls.kind} at {n}: {text}" for text in notes]
                time.sleep(1)

        print()
        print_table(columns, args.watches, len(kinds) > 1)
        for text in all_notes:
            print(f"note: {text}")
        met = check_targets(columns, floor_rss)
        godpy_notes = [t for t in all_notes if t.startswith("godpy")]
        print(
            f"load average (1 min): {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the "
            f"end, {os.cpu_count()} CPUs; took {time.monotonic() - began:.0f} s"
        )
        print(f"all godpy targets: {'MET' if met and not godpy_notes else 'MISSED'}")
        return 0 if met and not godpy_notes else 1
    except BenchError as exc:
        failed = True
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        return 2
    finally:
        if args.keep or failed:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--watches", type=int, nargs="+", default=[50, 200], help="watch counts (50 200)"
    )
    parser.add_argument("--peers", action="store_true", help="also run supervisord and Circus")
    parser.add_argument(
        "--peers-venv", default=PEERS_VENV, help=f"venv for the peers (default {PEERS_VENV})"
    )
    parser.add_argument(
        "--kills", type=int, default=0, help="restart kills (default 3 N, at most 200)"
    )
    parser.add_argument(
        "--pause", type=float, default=0.02, help="pause after each restart, s (0.02)"
    )
    parser.add_argument(
        "--kill-timeout", type=float, default=10, help="wait for one replacement, s (10)"
    )
    parser.add_argument("--settle", type=float, default=1, help="wait before the kills, s (1)")
    parser.add_argument("--settle-idle", type=float, default=2, help="wait after the burst, s (2)")
    parser.add_argument("--idle-seconds", type=float, default=10, help="idle window, s (10)")
    parser.add_argument("--status-runs", type=int, default=20, help="status runs (20)")
    parser.add_argument(
        "--circus-check-delay", type=float, default=0.1, help="Circus check_delay, s (0.1)"
    )
    parser.add_argument("--godpy", help="command that runs godpy (default: this venv's godpy)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--as-is", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if it is set"
    )
    args = parser.parse_args(argv)
    if min(args.watches) < 1 or args.status_runs < 1 or args.idle_seconds <= 0:
        parser.error("--watches and --status-runs must be at least 1, --idle-seconds positive")
    args.peers_venv = os.path.abspath(args.peers_venv)
    signal.signal(signal.SIGTERM, interrupted)  # clean up on SIGTERM too
    signal.signal(signal.SIGINT, interrupted)
    return run(args)


def interrupted(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
