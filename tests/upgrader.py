"""A self-daemonizing server that upgrades itself on USR2, as gunicorn, unicorn and nginx do.

Usage: upgrader.py RECORD PIDFILE

It daemonizes (double fork, setsid: it does not lead its process group) and writes
PIDFILE. On USR2 it forks a new master in the same group, which writes ``PIDFILE.2``;
the new master renames it to PIDFILE once it sees the old master gone (its parent
changed), up to a second later, as gunicorn does. TERM makes a master exit.
Lines written to RECORD: ``master <pid>`` for every master that starts.
"""

import os
import signal
import sys
import time


def record(path, line):
    with open(path, "a") as fh:
        fh.write(line + "\n")


def write(path, pid):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        fh.write(str(pid))
    os.rename(tmp, path)


def serve(rec, pidfile, upgraded):
    parent = os.getppid()
    wanted = []
    signal.signal(signal.SIGUSR2, lambda *_: wanted.append(1))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    record(rec, f"master {os.getpid()}")
    write(f"{pidfile}.2" if upgraded else pidfile, os.getpid())
    while True:
        time.sleep(0.3)
        if upgraded and os.getppid() != parent:
            os.rename(f"{pidfile}.2", pidfile)
            upgraded = False
        if wanted:
            wanted.clear()
            if os.fork() == 0:
                serve(rec, pidfile, True)


def main():
    rec, pidfile = sys.argv[1], sys.argv[2]
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    serve(rec, pidfile, False)


if __name__ == "__main__":
    main()
