"""Crash loop: the daemon's CPU while every watched program exits as soon as it starts.

Target (issue 8): 50 watches whose program exits at once, under plain ``w.keepalive()``
(``restart_delay`` 100 ms doubling to ``restart_delay_max`` 30 s), cost the daemon under
5 % of one core.

How it measures: it writes a throwaway config, runs a real daemon
(``godpy -c CFG -D --socket S -l LOG``), waits ``--settle`` seconds, then reads at both
ends of a ``--window`` the daemon's own CPU time (utime + stime from /proc/PID/stat: all
its threads, none of its children) and the sum of ``restarts`` in ``godpy status --json``.
It prints the CPU as % of one core, the starts per second, the CPU and log lines per
start, the daemon's RSS and thread count, and the load average; then it stops the daemon
with ``godpy terminate`` (SIGTERM, then SIGKILL, to its pid if that fails)::

    .venv/bin/python bench/crashloop.py [--watches 50] [--window 30] [--restart-delay-max 1s]

Exit status: 0 when the target is met, 1 when it is missed, 2 on an error.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from benchlib import godpy_command, wait_for

TARGET_CPU_PCT = 5.0
CONFIG = """\
from godpy import God


God.pid_file_directory = {pid_dir!r}

for n in range({watches}):
    with God.watch() as w:
        w.name = f"crash-{{n}}"
        w.start = {program!r}
        w.keepalive({keepalive})
"""


def cpu_seconds(pid: int) -> float:
    """The utime + stime of ``pid`` (every thread, no children), in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_and_threads(pid: int) -> tuple[int, int]:
    """The resident set (kB) and thread count of ``pid``."""
    with open(f"/proc/{pid}/status") as fh:
        rows = dict(line.split(":", 1) for line in fh)
    return int(rows["VmRSS"].split()[0]), int(rows["Threads"])


def total_restarts(godpy: list[str], sock: str) -> int | None:
    """The sum of ``restarts`` over every watch, or None if the daemon does not answer."""
    cmd = [*godpy, "status", "--json", "--socket", sock]
    done = subprocess.run(cmd, capture_output=True, timeout=30)
    try:
        return sum(row["restarts"] for row in json.loads(done.stdout))
    except ValueError:
        return None


def log_lines(path: str) -> int:
    """How many lines the daemon's log holds."""
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def measure(args, daemon: subprocess.Popen, godpy: list[str], sock: str, log: str) -> int:
    """Settle, then print the daemon's CPU, starts, RSS and threads over the window."""
    up = wait_for(lambda: daemon.poll() is not None or total_restarts(godpy, sock) is not None, 60)
    if not up or daemon.poll() is not None:
        print(f"daemon did not come up (exit code {daemon.poll()})", file=sys.stderr)
        return 2
    time.sleep(args.settle)
    starts0, lines0 = total_restarts(godpy, sock), log_lines(log)
    cpu0, t0 = cpu_seconds(daemon.pid), time.monotonic()
    time.sleep(args.window)
    cpu1, t1 = cpu_seconds(daemon.pid), time.monotonic()
    starts1, lines1 = total_restarts(godpy, sock), log_lines(log)
    rss, threads = rss_and_threads(daemon.pid)
    if starts0 is None or starts1 is None:
        print("godpy status --json did not answer", file=sys.stderr)
        return 2
    wall, cpu, starts = t1 - t0, cpu1 - cpu0, starts1 - starts0
    pct = 100 * cpu / wall
    per_start = f"{1000 * cpu / starts:.2f} ms" if starts else "n/a"
    lines = f"{(lines1 - lines0) / starts:.1f}" if starts else "n/a"
    print(
        f"godpy crash loop: {args.watches} watches of {args.program!r}, "
        f"keepalive({keepalive_args(args)}), events {'off' if args.no_events else 'on'}, "
        f"settle {args.settle:g} s, window {wall:.1f} s, {os.cpu_count()} CPUs"
    )
    print(f"daemon CPU      {pct:.2f} % of one core ({cpu:.2f} s)")
    print(f"starts          {starts} ({starts / wall:.2f}/s), {per_start} CPU per start")
    print(f"log lines       {lines1 - lines0} ({lines} per start, --log-level {args.log_level})")
    print(f"daemon          RSS {rss / 1024:.1f} MiB, {threads} threads")
    print("load average    {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    met = pct < TARGET_CPU_PCT
    print(f"target (< {TARGET_CPU_PCT:g} % of one core): {'MET' if met else 'MISSED'}")
    return 0 if met else 1


def stop(daemon: subprocess.Popen, godpy: list[str], sock: str) -> bool:
    """``godpy terminate``; SIGTERM then SIGKILL to the daemon's pid if it lingers."""
    if daemon.poll() is None:
        try:
            subprocess.run([*godpy, "terminate", "--socket", sock], capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            print("godpy terminate timed out", file=sys.stderr)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            return daemon.wait(30) == 0
        except subprocess.TimeoutExpired:
            print(f"daemon still running; sending {sig.name}", file=sys.stderr)
            daemon.send_signal(sig)
    return daemon.wait() == 0


def keepalive_args(args) -> str:
    """The arguments the config passes to ``w.keepalive()``."""
    return "" if args.restart_delay_max is None else f"restart_delay_max={args.restart_delay_max!r}"


def run(args) -> int:
    tmp = tempfile.mkdtemp(prefix="godpy-crashloop-")
    cfg, log = os.path.join(tmp, "crash.god.py"), os.path.join(tmp, "godpy.log")
    with open(cfg, "w") as fh:
        fh.write(
            CONFIG.format(
                pid_dir=os.path.join(tmp, "pids"),
                watches=args.watches,
                program=args.program,
                keepalive=keepalive_args(args),
            )
        )
    godpy = shlex.split(args.godpy) if args.godpy else godpy_command()
    sock = os.path.join(tmp, "godpy.sock")
    options = ["-c", cfg, "-D", "--socket", sock, "-l", log, "--log-level", args.log_level]
    options += ["--no-events"] if args.no_events else []
    with open(os.path.join(tmp, "daemon.out"), "wb") as out:
        daemon = subprocess.Popen(
            [*godpy, *options], stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    try:
        status = measure(args, daemon, godpy, sock, log)
    finally:
        clean = stop(daemon, godpy, sock)
        print(f"cleanup: daemon {'exited 0' if clean else f'exited {daemon.returncode}'}")
        if clean and status != 2 and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}", file=sys.stderr)
    return status if clean else 2


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watches", type=int, default=50, help="watches (default 50)")
    parser.add_argument("--program", default="/bin/false", help="start command (/bin/false)")
    parser.add_argument(
        "--restart-delay-max", help="keepalive restart_delay_max, e.g. 1s (default: 30s)"
    )
    parser.add_argument("--settle", type=float, default=10, help="wait before measuring, s (10)")
    parser.add_argument("--window", type=float, default=30, help="measured window, s (30)")
    parser.add_argument("--no-events", action="store_true", help="run the daemon --no-events")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--godpy", help="command that runs godpy (default: this venv's godpy)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.watches < 1 or args.window <= 0:
        parser.error("--watches must be at least 1 and --window positive")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
