"""Quick start: two workers kept alive, restarted at once when they die.

Run it with `godpy -c examples/quickstart.god.py -D` from the project folder, then
`kill -9` a worker's pid (see /tmp/godpy-demo/pids/) and watch it come back.
"""

import os
import sys

from godpy import God

HERE = os.path.dirname(os.path.abspath(__file__))
os.makedirs("/tmp/godpy-demo", exist_ok=True)

God.pid_file_directory = "/tmp/godpy-demo/pids"

for n in range(2):
    with God.watch() as w:
        w.name = f"worker-{n}"
        w.group = "workers"
        w.start = [sys.executable, os.path.join(HERE, "worker.py"), str(n)]
        w.dir = "/tmp"
        w.env = {"WORKER_ID": str(n)}
        w.log = f"/tmp/godpy-demo/worker-{n}.log"
        w.interval = 5  # seconds
        w.keepalive(memory_max="150MB", cpu_max="50%")
