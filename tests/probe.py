"""A probe child for tests: records what happens to it, one line per event, in a file.

Usage: probe.py RECORD [--ignore-term] [--exit CODE] [--after SECONDS] [--grow-mb N]
       [--spawn-child] [--daemonize PIDFILE]

Lines written to RECORD: ``start <pid>``, ``signal <NAME>``, ``exit <code>``,
``child <pid>`` (with --spawn-child, a grandchild in the same process group).
"""

import argparse
import os
import signal
import subprocess
import sys
import time


def record(path, line):
    with open(path, "a") as fh:
        fh.write(line + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("record")
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument("--exit", type=int, default=None)
    parser.add_argument("--after", type=float, default=0.0)
    parser.add_argument("--grow-mb", type=int, default=0)
    parser.add_argument("--spawn-child", action="store_true")
    parser.add_argument("--daemonize", default=None)
    args = parser.parse_args()

    if args.daemonize:
        if os.fork():
            os._exit(0)
        os.setsid()
        if os.fork():
            os._exit(0)
        with open(args.daemonize, "w") as fh:
            fh.write(str(os.getpid()))

    def on_signal(signum, frame):
        record(args.record, f"signal {signal.Signals(signum).name}")
        if signum == signal.SIGTERM and not args.ignore_term:
            record(args.record, "exit 0")
            sys.exit(0)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, on_signal)
    record(args.record, f"start {os.getpid()}")
    if args.spawn_child:
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import signal,time; signal.signal(signal.SIGTERM, "
                "signal.SIG_IGN); time.sleep(600)",
            ]
        )
        record(args.record, f"child {child.pid}")
    hog = bytearray(args.grow_mb * 1024 * 1024) if args.grow_mb else None
    if hog:
        for i in range(0, len(hog), 4096):
            hog[i] = 1
    if args.exit is not None:
        time.sleep(args.after)
        record(args.record, f"exit {args.exit}")
        sys.exit(args.exit)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
