"""A pool of queue workers with memory limits, God's classic worker policy.

WORKERS (default 4) copies of examples/worker.py, each restarted when its memory stays
above 150 MB (3 of the last 5 checks), when it is both big and busy, when it leaks file
descriptors or threads, or when its heartbeat log goes quiet for 2 minutes. The start
is retried when the process does not come up (the `tries` failsafe). The health of the
shared backend is checked once with a command; when it fails, the workers are stopped and
stay stopped (as in God, `stop_if` leaves a watch in `stop`) until `godpy start workers`.

Run: `godpy -c examples/workers.god.py -D`; `godpy status workers`.
"""

import os
import sys

from godpy import God, env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = "/tmp/godpy-demo"
os.makedirs(ROOT, exist_ok=True)

God.pid_file_directory = f"{ROOT}/pids"
count = env("WORKERS", default=4, cast=int)
backend_check = env("BACKEND_CHECK", default="test -d /tmp")


def worker_policy(w):
    """God's worker state machine: start if dead, restart when too big, retry a start."""
    with w.transition("init", {True: "up", False: "start"}) as on:
        on.condition("process_running", running=True)
    with w.transition(["start", "restart"], "up") as on:
        on.condition("process_running", running=True)
        on.condition("tries", times=5, transition="start")
    with w.start_if() as on:
        on.condition("process_running", running=False)
    with w.restart_if() as on:
        on.condition("memory_usage", above="150MB", times=(3, 5))
        with on.condition("complex", times=2) as c:  # big *and* busy: stuck in a loop
            c.this("memory_usage", above="100MB")
            c.and_("cpu_usage", above="90%")
        on.condition("open_files", above=512, times=(2, 3))
        on.condition("threads", above=64)
        on.condition("file_mtime", path=w.log, max_age="2min", interval=30)
    with w.stop_if() as on:
        on.condition("command", command=backend_check, timeout=5, times=(3, 5), interval=20)


for n in range(count):
    with God.watch() as w:
        w.name = f"worker-{n}"
        w.group = "workers"
        w.start = [sys.executable, os.path.join(HERE, "worker.py"), str(n)]
        w.env = {"WORKER_ID": str(n)}
        w.log = f"{ROOT}/worker-{n}.log"
        w.interval = 5
        w.stop_signal = "TERM"
        w.stop_timeout = 10
        worker_policy(w)
