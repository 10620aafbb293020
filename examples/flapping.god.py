"""A flapping guard: a program that keeps dying is given up on, then tried again later.

CRASHER runs a command that exits at once. keepalive() starts it again each time, until
the lifecycle `flapping` condition sees 5 starts within 5 minutes: the watch is then
unmonitored (nothing restarts it), monitored again after 10 minutes, and left alone for
good after 5 such rounds within 2 hours (the values 28 of 32 real God configs use).
FLAP_SCALE (default 1) divides every duration, for a quick demonstration:
`FLAP_SCALE=60 godpy -c examples/flapping.god.py -D`. Notifications go to
/tmp/godpy-demo/notifications.jsonl.
"""

import os
import sys

from godpy import God, env

os.makedirs("/tmp/godpy-demo", exist_ok=True)
God.pid_file_directory = "/tmp/godpy-demo/pids"
scale = env("FLAP_SCALE", default=1.0, cast=float)

with God.contact("log") as c:  # notifications, one JSON line each
    c.name = "ops"
    c.path = "/tmp/godpy-demo/notifications.jsonl"

with God.watch() as w:
    w.name = "crasher"
    w.start = [sys.executable, "-c", "import sys, time; time.sleep(0.5); sys.exit(1)"]
    w.interval = 5 / scale
    w.keepalive(restart_delay_max=f"{30 / scale}s")  # the backoff, scaled too

    with w.lifecycle() as on, on.condition("flapping") as c:
        c.to_state = ["start", "restart"]
        c.times = 5
        c.within = 300 / scale
        c.transition = "unmonitored"
        c.retry_in = 600 / scale
        c.retry_times = 5
        c.retry_within = 7200 / scale
        c.notify = "ops"
