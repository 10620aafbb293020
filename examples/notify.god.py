"""Notifications: a worker whose crashes are reported by email, webhook and a local log.

Run it with `godpy -c examples/notify.god.py -D` from the project folder. Point the
contacts at real servers with the environment (SMTP_HOST, SMTP_PORT, ALERT_WEBHOOK), then
`godpy notify-test developers` to check them, and `kill -9` the worker's pid (see
/tmp/godpy-notify/pids/) to get a real notification. Every notification is also appended
to /tmp/godpy-notify/notifications.jsonl.
"""

import os
import sys

from godpy import God, env

HERE = os.path.dirname(os.path.abspath(__file__))
os.makedirs("/tmp/godpy-notify", exist_ok=True)

God.pid_file_directory = "/tmp/godpy-notify/pids"
God.notify_interval = "5min"  # a crash loop sends one message per 5 minutes per contact

with God.watch() as w:
    w.name = "worker"
    w.start = [sys.executable, os.path.join(HERE, "worker.py"), "0"]
    w.interval = 5
    # keepalive() by hand, so that the exit condition can notify.
    with w.transition("init", {True: "up", False: "start"}) as on:
        on.condition("process_running", running=True)
    with w.transition(["start", "restart"], "up") as on:
        on.condition("process_running", running=True)
    with w.transition("up", "start") as on:
        on.condition(
            "process_exits", notify={"contacts": ["developers"], "priority": 1, "category": "crash"}
        )
    with w.restart_if() as on:
        on.condition("memory_usage", above="150MB", times=(3, 5), notify="developers")

with God.contact("email") as c:
    c.name = "tom"
    c.group = "developers"
    c.to_email = env("ALERT_EMAIL", default="tom@example.com")
    c.server_host = env("SMTP_HOST", default="localhost")
    c.server_port = env("SMTP_PORT", default=25, cast=int)

with God.contact("webhook") as c:
    c.name = "pager"
    c.group = "developers"
    c.url = env("ALERT_WEBHOOK", default="http://127.0.0.1:9000/godpy")
    c.format = "json"
    c.timeout = 5

with God.contact("log") as c:
    c.name = "audit"
    c.group = "developers"
    c.path = "/tmp/godpy-notify/notifications.jsonl"
    c.notify_interval = 0  # the audit log keeps every one
