"""Soak: many ``kill -9``/restart cycles, with crash loops, and what the daemon keeps.

Target (issue 11): 1,000 kill -9/restart cycles over 20 watches, while a few other
watches crash in a loop the whole time, lose no restart, leave no zombie and no duplicate
process, leave the daemon's open fds and threads unchanged, and grow its RSS by less than
2 MiB.

How it measures: it writes a throwaway config (``--watches`` watches of ``sleep 100000``
under ``keepalive(interval=30, stable_after="0s")``, so every kill restarts at once, and
``--crashers`` watches of ``/bin/false`` under ``keepalive(restart_delay_max="1s")``) and
runs a real daemon (``godpy -c CFG -D --socket S -l LOG``). Each cycle picks the next watch
round-robin, reads its pid file, kills the process with SIGKILL and waits up to
``--bound`` seconds for the pid file to name a new live ``sleep``; a watch that gets none
in time counts as a lost restart. After ``--warmup`` cycles and again after the measured
cycles, it samples the daemon ten times over two seconds from /proc: open fds and threads
(the minimum seen, so a transient pipe of a crasher's start does not count), RSS (the
last), and zombies (children of the daemon in state Z in every sample, so a crasher not yet
reaped does not count). At the end it checks that each watch has exactly one live process
(``sleep 100000`` processes that are the daemon's children or lead a session it started).
Then it stops the daemon with ``godpy terminate`` (SIGTERM, then SIGKILL, to its pid if
that fails) and kills, by pid, any watched process left behind. Run it as root::

    .venv/bin/python bench/soak.py [--cycles 1000] [--watches 20] [--crashers 3] [--keep]

Exit status: 0 when the target is met, 1 when it is missed, 2 on an error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from benchlib import alive, godpy_command, is_sleep, read_pid, wait_for

TARGET_RSS_MIB = 2.0
CONFIG = """\
from godpy import God


God.pid_file_directory = {pid_dir!r}

for n in range({watches}):
    with God.watch() as w:
        w.name = f"soak-{{n}}"
        w.start = {sleep!r}
        w.keepalive(interval=30, stable_after="0s")

for n in range({crashers}):
    with God.watch() as w:
        w.name = f"crash-{{n}}"
        w.start = {false!r}
        w.keepalive(restart_delay_max="1s")
"""


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def processes() -> dict[int, list[str]]:
    """Every process's stat fields, by pid."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := stat_fields(int(entry))) is not None:
            found[int(entry)] = fields
    return found


def zombies(daemon: int) -> set[int]:
    """Children of ``daemon`` in state Z."""
    return {pid for pid, f in processes().items() if f[0] == "Z" and int(f[1]) == daemon}


def sample(daemon: int) -> dict:
    """One look at the daemon: open fds, threads, RSS in kB."""
    with open(f"/proc/{daemon}/status") as fh:
        rows = dict(line.split(":", 1) for line in fh)
    return {
        "fds": len(os.listdir(f"/proc/{daemon}/fd")),
        "threads": int(rows["Threads"]),
        "rss": int(rows["VmRSS"].split()[0]),
    }


def measure(daemon: int, count: int = 10, spacing: float = 0.2) -> dict:
    """Fds and threads (minimum), RSS (last) and lasting zombies over ``count`` samples."""
    looks, lasting = [], zombies(daemon)
    for _ in range(count):
        time.sleep(spacing)
        looks.append(sample(daemon))
        lasting &= zombies(daemon)
    return {
        "fds": min(look["fds"] for look in looks),
        "threads": min(look["threads"] for look in looks),
        "rss": looks[-1]["rss"],
        "zombies": sorted(lasting),
    }


def live_sleep(path: str, other_than: int | None = None) -> int | None:
    """The pid in ``path`` if it is a live ``sleep 100000`` other than ``other_than``."""
    pid = read_pid(path)
    ok = pid is not None and pid != other_than and alive(pid) and is_sleep(pid)
    return pid if ok else None


def cycle(path: str, bound: float, seen: set[int]) -> bool:
    """Kill -9 the watch's process; True when a new live one appears within ``bound``."""
    pid = wait_for(lambda: live_sleep(path), bound)
    if pid is None:
        return False
    seen.add(pid)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    new = wait_for(lambda: live_sleep(path, other_than=pid), bound, 0.002)
    if new is not None:
        seen.add(new)
    return new is not None


def duplicates(daemon: int, paths: list[str], seen: set[int]) -> tuple[int, list[str]]:
    """Extra watched processes, and the pid files naming no live watched process."""
    starters = seen | {daemon}
    ours = {
        pid
        for pid, f in processes().items()
        if f[0] != "Z" and (int(f[1]) == daemon or int(f[3]) in starters) and is_sleep(pid)
    }
    seen |= ours
    named = {path: read_pid(path) for path in paths}
    missing = [os.path.basename(p) for p, pid in named.items() if pid not in ours]
    return len(ours) - (len(paths) - len(missing)), missing


def run_cycles(paths: list[str], start: int, count: int, bound: float, seen: set[int]) -> int:
    """``count`` cycles round-robin from cycle ``start``; return the lost restarts."""
    lost = 0
    for i in range(start, start + count):
        if not cycle(paths[i % len(paths)], bound, seen):
            lost += 1
            print(f"cycle {i}: {os.path.basename(paths[i % len(paths)])} lost", file=sys.stderr)
    return lost


def soak(args, daemon: subprocess.Popen, pid_dir: str, seen: set[int]) -> int:
    """Warm up, measure, run the cycles, measure again, print the figures and verdict."""
    paths = [os.path.join(pid_dir, f"soak-{n}.pid") for n in range(args.watches)]
    if not wait_for(lambda: all(live_sleep(p) for p in paths), 60) or daemon.poll() is not None:
        print(f"daemon did not start all {args.watches} watches", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    lost_warmup = run_cycles(paths, 0, args.warmup, args.bound, seen)
    time.sleep(args.settle)
    before = measure(daemon.pid)
    lost = run_cycles(paths, args.warmup, args.cycles, args.bound, seen)
    time.sleep(args.settle)
    after = measure(daemon.pid)
    elapsed = time.monotonic() - t0
    extra, missing = duplicates(daemon.pid, paths, seen)
    growth = (after["rss"] - before["rss"]) / 1024
    print(
        f"godpy soak: {args.watches} watches of sleep 100000 "
        f'(keepalive(interval=30, stable_after="0s")), {args.crashers} crashers of /bin/false '
        f'(keepalive(restart_delay_max="1s")), {os.cpu_count()} CPUs'
    )
    print(f"cycles          {args.cycles} (after {args.warmup} warm-up cycles)")
    print(f"lost restarts   {lost} (warm-up: {lost_warmup}; bound {args.bound:g} s)")
    print(f"zombies         {len(after['zombies'])} {after['zombies'] or ''}".rstrip())
    print(f"fds             {before['fds']} -> {after['fds']}")
    print(f"threads         {before['threads']} -> {after['threads']}")
    print(
        f"RSS             {before['rss'] / 1024:.1f} -> {after['rss'] / 1024:.1f} MiB "
        f"({growth:+.2f} MiB)"
    )
    gone = f"; no live process: {', '.join(missing)}" if missing else ""
    print(f"duplicates      {extra}{gone}")
    print(f"elapsed         {elapsed:.1f} s")
    print("load average    {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    met = (
        lost == 0
        and not after["zombies"]
        and after["fds"] == before["fds"]
        and after["threads"] == before["threads"]
        and growth < TARGET_RSS_MIB
        and extra == 0
        and not missing
    )
    print(
        f"target (0 lost, 0 zombies, fds and threads unchanged, RSS growth < "
        f"{TARGET_RSS_MIB:g} MiB, no duplicates): {'MET' if met else 'MISSED'}"
    )
    return 0 if met else 1


def stop(daemon: subprocess.Popen, godpy: list[str], sock: str, seen: set[int]) -> bool:
    """Terminate the daemon (by RPC, then by pid); kill any watched process left behind."""
    if daemon.poll() is None:
        try:
            subprocess.run([*godpy, "terminate", "--socket", sock], capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            print("godpy terminate timed out", file=sys.stderr)
    code = None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            code = daemon.wait(30)
            break
        except subprocess.TimeoutExpired:
            print(f"daemon still running; sending {sig.name}", file=sys.stderr)
            daemon.send_signal(sig)
    if code is None:
        code = daemon.wait()
    left = [pid for pid in sorted(seen) if alive(pid) and is_sleep(pid)]
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if left:
        print(f"watched processes left running: {left}; killed them", file=sys.stderr)
    print(f"cleanup: daemon exited {code}, {len(left)} watched processes left")
    return code == 0 and not left


def run(args) -> int:
    """Write the config, start the daemon, soak it, and stop everything started."""
    tmp = tempfile.mkdtemp(prefix="godpy-soak-")
    cfg, log = os.path.join(tmp, "soak.god.py"), os.path.join(tmp, "godpy.log")
    pid_dir, sock = os.path.join(tmp, "pids"), os.path.join(tmp, "godpy.sock")
    sleep, false = shutil.which("sleep") or "/bin/sleep", shutil.which("false") or "/bin/false"
    with open(cfg, "w") as fh:
        fh.write(
            CONFIG.format(
                pid_dir=pid_dir,
                watches=args.watches,
                sleep=[sleep, "100000"],
                crashers=args.crashers,
                false=false,
            )
        )
    godpy = godpy_command()
    seen: set[int] = set()
    with open(os.path.join(tmp, "daemon.out"), "wb") as out:
        daemon = subprocess.Popen(
            [*godpy, "-c", cfg, "-D", "--socket", sock, "-l", log],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        status = soak(args, daemon, pid_dir, seen)
    finally:
        clean = stop(daemon, godpy, sock, seen)
        if clean and status != 2 and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}", file=sys.stderr)
    return status if clean else 2


def main(argv=None) -> int:
    """Parse the options and run the soak."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=1000, help="measured cycles (1000)")
    parser.add_argument("--watches", type=int, default=20, help="killed watches (20)")
    parser.add_argument("--crashers", type=int, default=3, help="crash-loop watches (3)")
    parser.add_argument("--warmup", type=int, default=50, help="cycles before measuring (50)")
    parser.add_argument("--bound", type=float, default=10, help="wait for a restart, s (10)")
    parser.add_argument("--settle", type=float, default=2, help="pause before measuring, s (2)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.watches < 1 or args.cycles < 1 or args.crashers < 0 or args.warmup < 0:
        parser.error("--watches and --cycles must be at least 1, the others not negative")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
