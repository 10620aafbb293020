"""CLI latency: wall time of ``godpy status`` and of ``godpy restart NAME``.

Targets (from the issue), on a 2-core machine:

- ``godpy status`` with 50 and with 200 watches: median wall time at most 15 ms above the
  floor that Python sets here, ``python -c "import click, Pyro5.client"`` (the same
  interpreter the ``godpy`` script runs), measured by this script in the same run;
- ``godpy restart NAME`` until the new process runs: median under 200 ms.

How it measures: for each watch count it writes a throwaway config (``sleep 100000``
watches with keepalive), runs a real daemon (``godpy -c CFG -D --socket S -l LOG``), waits
until every pid file names a live process, then times whole ``godpy status`` processes
(``subprocess.run``, output captured, so never a terminal) interleaved with runs of the
floor command, so that both see the same machine. It also times the ``status`` call from
an in-process client (the daemon's share), the client's imports alone, and
``godpy status --json``, for which the daemon also reads each process's memory and CPU
(the table shows neither). Then it runs
``godpy restart NAME`` round-robin: the command returns once the daemon has carried the
restart out, and the script checks, as soon as it returns, that the pid file names a new,
live process. Finally it stops the daemon with SIGTERM and checks that it exits 0 and
leaves no watched process behind.

The commands run as a user's would, with bytecode caching: if this environment disables it
(``PYTHONDONTWRITEBYTECODE``, which would make every run compile godpy's modules but not
the floor's, whose .pyc files pip wrote), the children get it back with
``PYTHONPYCACHEPREFIX`` in the temporary directory (``--as-is`` keeps the environment)::

    .venv/bin/python bench/cli_latency.py [--watches 50 200] [--runs 50] [--restarts 20]

Exit status: 0 when every target is met, 1 when one is missed, 2 on an error.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from benchlib import alive, godpy_command, is_sleep, percentile, read_pid, wait_for

TARGET_ABOVE_FLOOR_MS = 15.0
TARGET_RESTART_MS = 200.0
FLOOR_CODE = "import click, Pyro5.client"
CLIENT_IMPORTS = "import godpy.cli, godpy.rpc, godpy.status_format"

CONFIG = """\
from godpy import God


God.pid_file_directory = {pid_dir!r}

for n in range({watches}):
    with God.watch() as w:
        w.name = f"bench-{{n}}"
        w.start = {argv!r}
        w.keepalive(interval={interval!r})
"""


# -- helpers -----------------------------------------------------------------------------
def summary(name: str, values_ms: list[float]) -> str:
    if not values_ms:
        return f"{name:<34} no samples"
    return (
        f"{name:<34} n={len(values_ms):<3} median={percentile(values_ms, 50):7.2f}  "
        f"p90={percentile(values_ms, 90):7.2f}  min={min(values_ms):7.2f}  "
        f"max={max(values_ms):7.2f} ms"
    )


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time (ms) of running ``cmd`` to completion, output captured."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True)
    return (time.perf_counter() - t0) * 1e3, done


class Bench:
    """One daemon with ``watches`` watches in its own directory under ``root``."""

    def __init__(self, args, root: str, watches: int):
        self.args = args
        self.watches = watches
        self.tmp = os.path.join(root, f"w{watches}")
        self.pid_dir = os.path.join(self.tmp, "pids")
        self.socket = os.path.join(self.tmp, "godpy.sock")
        self.log = os.path.join(self.tmp, "godpy.log")
        self.names = [f"bench-{n}" for n in range(watches)]
        self.godpy = shlex.split(args.godpy) if args.godpy else godpy_command()
        self.daemon: subprocess.Popen | None = None
        self.seen: set[int] = set()

    def pid_file(self, name: str) -> str:
        return os.path.join(self.pid_dir, f"{name}.pid")

    def start(self) -> bool:
        os.makedirs(self.tmp)
        cfg = os.path.join(self.tmp, "bench.god.py")
        sleep = shutil.which("sleep") or "/bin/sleep"
        with open(cfg, "w") as fh:
            fh.write(
                CONFIG.format(
                    pid_dir=self.pid_dir,
                    watches=self.watches,
                    argv=[sleep, "100000"],
                    interval=self.args.interval,
                )
            )
        cmd = [*self.godpy, "-c", cfg, "-D", "--socket", self.socket, "-l", self.log]
        with open(os.path.join(self.tmp, "daemon.out"), "wb") as out:
            self.daemon = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)

        def all_up():
            pids = [read_pid(self.pid_file(n)) for n in self.names]
            return pids if all(p and alive(p) for p in pids) else None

        pids = wait_for(all_up, 120)
        if pids:
            self.seen.update(pids)
        if not pids or self.daemon.poll() is not None:
            print(
                f"daemon did not start all {self.watches} watches; see {self.tmp}", file=sys.stderr
            )
            return False
        # ... and the daemon agrees that every watch is up (exit 0).
        ok = wait_for(lambda: self.status()[1].returncode == 0, 30, 0.1)
        if not ok:
            print(f"`godpy status` does not report all {self.watches} up", file=sys.stderr)
        return bool(ok)

    def status(self, *extra: str) -> tuple[float, subprocess.CompletedProcess]:
        return timed([*self.godpy, "status", *extra, "--socket", self.socket])

    def restart(self, name: str) -> tuple[float, int | None, int | None, str]:
        """(wall ms, old pid, new pid if live, output) of ``godpy restart name``."""
        old = read_pid(self.pid_file(name))
        took, done = timed([*self.godpy, "restart", name, "--socket", self.socket])
        new = read_pid(self.pid_file(name))  # read at once: the command is synchronous
        ok = done.returncode == 0 and new is not None and new != old and alive(new)
        if new:
            self.seen.add(new)
        output = (done.stdout + done.stderr).decode(errors="replace").strip()
        return took, old, new if ok else None, output

    def stop(self) -> bool:
        """SIGTERM the daemon; check it exits 0 and no watched process survives."""
        ok = True
        if self.daemon is not None:
            if self.daemon.poll() is None:
                self.daemon.send_signal(signal.SIGTERM)
            try:
                code = self.daemon.wait(60)
            except subprocess.TimeoutExpired:
                print("daemon still running 60 s after SIGTERM; killed it", file=sys.stderr)
                self.daemon.kill()
                code = self.daemon.wait()
            if code != 0:
                print(f"daemon ({self.watches} watches) exited with {code}", file=sys.stderr)
                ok = False
        survivors = [p for p in sorted(self.seen) if alive(p) and is_sleep(p)]
        if survivors:
            print(f"watched processes left running: {survivors}; killing them", file=sys.stderr)
            for pid in survivors:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            ok = False
        return ok


# -- the benchmark -----------------------------------------------------------------------
def rpc_status_times(socket_path: str, rounds: int, usage: bool) -> list[float]:
    """The ``status`` call from a client in this process: the daemon's share plus IPC."""
    from godpy.rpc import Client

    times = []
    with Client(socket_path) as client:
        client.call("ping")
        for _ in range(rounds):
            t0 = time.perf_counter()
            client.call("status", None, usage)
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def measure(bench: Bench, args) -> dict:
    floor_cmd = [sys.executable, "-c", FLOOR_CODE]
    imports_cmd = [sys.executable, "-c", CLIENT_IMPORTS]
    for _ in range(3):  # warm the page cache (and the .pyc files)
        bench.status()
        timed(floor_cmd)
        timed(imports_cmd)
    floor, status, imports, as_json, bad = [], [], [], [], 0
    for _ in range(args.runs):
        took, _done = timed(floor_cmd)
        floor.append(took)
        took, done = bench.status()
        status.append(took)
        if done.returncode != 0 or done.stdout.count(b"\n") + 1 < bench.watches:
            bad += 1
        took, _done = timed(imports_cmd)
        imports.append(took)
        took, _done = bench.status("--json")
        as_json.append(took)
    rpc = rpc_status_times(bench.socket, args.runs, False)
    rpc_usage = rpc_status_times(bench.socket, args.runs, True)

    restarts, failures = [], []
    for i in range(args.restarts):
        name = bench.names[i % len(bench.names)]
        took, old, new, output = bench.restart(name)
        if new is None:
            failures.append(f"{name}: pid {old} -> no new live pid ({output!r})")
        else:
            restarts.append(took)
        time.sleep(args.pause)
    return {
        "floor": floor,
        "status": status,
        "imports": imports,
        "json": as_json,
        "rpc": rpc,
        "rpc_usage": rpc_usage,
        "bad": bad,
        "restarts": restarts,
        "failures": failures,
    }


def report(watches: int, r: dict) -> tuple[bool, bool]:
    print(f"\n-- {watches} watches --")
    print(summary("floor: python -c 'import click, Pyro5.client'", r["floor"]))
    print(summary("godpy status", r["status"]))
    print(summary("godpy status --json (+memory, cpu)", r["json"]))
    print(summary("client imports only", r["imports"]))
    print(summary("status call, in-process client", r["rpc"]))
    print(summary("the same with memory, cpu (--json)", r["rpc_usage"]))
    print(summary("godpy restart NAME (until running)", r["restarts"]))
    above = percentile(r["status"], 50) - percentile(r["floor"], 50)
    paired = percentile([s - f for s, f in zip(r["status"], r["floor"], strict=True)], 50)
    status_ok = above <= TARGET_ABOVE_FLOOR_MS and not r["bad"]
    print(
        f"godpy status above floor: {above:+.1f} ms (median - median); target <= "
        f"{TARGET_ABOVE_FLOOR_MS:g} ms: {'MET' if status_ok else 'MISSED'} "
        f"(median of the paired differences: {paired:+.1f} ms, min - min: "
        f"{min(r['status']) - min(r['floor']):+.1f} ms)"
    )
    if r["bad"]:
        print(f"  {r['bad']} status runs did not exit 0 with every watch listed")
    restart_ok = bool(r["restarts"]) and not r["failures"]
    if r["restarts"]:
        med = percentile(r["restarts"], 50)
        restart_ok = restart_ok and med < TARGET_RESTART_MS
        print(
            f"godpy restart until running: median {med:.1f} ms; target < "
            f"{TARGET_RESTART_MS:g} ms: {'MET' if restart_ok else 'MISSED'}"
        )
    for line in r["failures"]:
        print(f"  restart failed: {line}")
    return status_ok, restart_ok


def bytecode_note(root: str, as_is: bool) -> str:
    """Give the children bytecode caching (outside the source tree) if it is off here."""
    if as_is or not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return ""
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = os.path.join(root, "pycache")
    return "; PYTHONDONTWRITEBYTECODE dropped, .pyc files cached in the temporary directory"


def run(args) -> int:
    root = tempfile.mkdtemp(prefix="godpy-cli-bench-")
    note = bytecode_note(root, args.as_is)
    print(
        f"godpy CLI latency: {args.runs} runs each (interleaved with the floor), "
        f"{args.restarts} restarts, keepalive(interval={args.interval:g}), "
        f"{os.cpu_count()} CPUs, {sys.executable} (Python {sys.version.split()[0]}){note}"
    )
    met, clean = True, True
    for watches in args.watches:
        bench = Bench(args, root, watches)
        try:
            if not bench.start():
                args.keep = True
                return 2
            result = measure(bench, args)
        finally:
            stopped = bench.stop()
            clean = clean and stopped
        status_ok, restart_ok = report(watches, result)
        met = met and status_ok and restart_ok
        print(f"cleanup: {'daemon exited 0, no watched process left' if stopped else 'FAILED'}")
    if clean and not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"kept {root}", file=sys.stderr)
    load = os.getloadavg()[0]
    print(f"\nload average (1 min) at the end: {load:.2f} on {os.cpu_count()} CPUs")
    if load > 0.5 * (os.cpu_count() or 1):
        print("  the machine was busy: the figures are noisy; run again when it is idle")
    print(f"all targets: {'MET' if met else 'MISSED'}")
    if not clean:
        return 2
    return 0 if met else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--watches", type=int, nargs="+", default=[50, 200], help="watch counts (50 200)"
    )
    parser.add_argument("--runs", type=int, default=50, help="status runs each (default 50)")
    parser.add_argument("--restarts", type=int, default=20, help="restarts each (default 20)")
    parser.add_argument(
        "--interval", type=float, default=30, help="keepalive poll interval, s (default 30)"
    )
    parser.add_argument(
        "--pause", type=float, default=0.05, help="pause after each restart, s (default 0.05)"
    )
    parser.add_argument("--godpy", help="command that runs godpy (default: this venv's godpy)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--as-is", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if it is set"
    )
    args = parser.parse_args(argv)
    if min(args.watches) < 1 or args.runs < 1 or args.restarts < 0:
        parser.error("--watches and --runs must be at least 1")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
