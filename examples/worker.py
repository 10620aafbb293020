"""A tiny worker for the quick start: prints a heartbeat until told to stop."""

import os
import signal
import sys
import time

worker = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("WORKER_ID", "?")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"worker {worker} started, pid {os.getpid()}", flush=True)
while True:
    time.sleep(5)
    print(f"worker {worker} alive", flush=True)
