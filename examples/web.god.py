"""A small web farm: HTTP servers checked from the outside, restarted when they go bad.

Each port in WEB_PORTS (default "8080,8081") runs `python3 -m http.server` serving
/tmp/godpy-demo/www. A server counts as up only once it listens; it is restarted when
its front page stops answering 200 (3 of the last 5 checks), when the page no longer
looks like a directory listing, when the port stops accepting connections, when
/tmp/godpy-demo/www/restart.txt is touched, and once a day anyway.

Run: `godpy -c examples/web.god.py -D`, then `touch /tmp/godpy-demo/www/restart.txt`.
"""

import os
import sys

from godpy import God, env

ROOT = "/tmp/godpy-demo"
WWW = f"{ROOT}/www"
os.makedirs(WWW, exist_ok=True)

God.pid_file_directory = f"{ROOT}/pids"
ports = [int(p) for p in env("WEB_PORTS", default="8080,8081").split(",")]

for port in ports:
    with God.watch() as w:
        w.name = f"web-{port}"
        w.group = "web"
        w.start = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        w.dir = WWW
        w.log = f"{ROOT}/web-{port}.log"
        w.interval = 10
        w.stop_timeout = 5

        # "up" means serving: from start or restart, wait until the process itself
        # listens (keepalive() would call it up as soon as the process runs).
        with w.transition("init", {True: "up", False: "start"}) as on:
            on.condition("process_running", running=True)
        with w.transition(["start", "restart"], "up") as on:
            on.condition("port_listening", port=port, interval=0.5)
            on.condition("tries", times=60, transition="start", interval=0.5)  # 30 s
        with w.start_if() as on:
            on.condition("process_running", running=False)

        with w.restart_if() as on:
            on.condition("memory_usage", above="200MB", times=(3, 5))
            on.condition("cpu_usage", above="80%", times=(3, 5))
            on.condition(
                "http_response_code", port=port, path="/", code_is_not=200,
                times=(3, 5), timeout=2,
            )  # fmt: skip
            on.condition("http_body", port=port, not_matches="Directory listing", timeout=2)
            on.condition("socket_responding", socket=f"tcp:{port}", times=2, timeout=1)
            on.condition("file_touched", path=f"{WWW}/restart.txt", interval=2)
            on.condition("uptime", above="24h", interval="5min")

        with w.lifecycle() as on:
            on.condition(
                "flapping", to_state=["start", "restart"], times=5, within="5min",
                transition="unmonitored", retry_in="10min", retry_times=5, retry_within="2h",
            )  # fmt: skip
