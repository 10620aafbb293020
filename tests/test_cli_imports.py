"""The CLI client stays light: `godpy status` loads click, Pyro5's client side and three
small godpy modules, nothing of the daemon (bench/cli_latency.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys

#: Modules the client path must not load: the daemon's dependencies and modules.
HEAVY = (
    "psutil",
    "pyroute2",
    "godpy.daemon",
    "godpy.task",
    "godpy.process",
    "godpy.watch",
    "godpy.driver",
    "godpy.control",
    "godpy.runner",
    "godpy.dsl",
    "Pyro5.server",
    "Pyro5.client",
    "godpy.control_server",
    "godpy.listener",
    "godpy.metrics",
    "prometheus_client",
)

CLIENT = """
import json, sys
from godpy.cli import main
import godpy.rpc, godpy.status_format
godpy.status_format.render_table([{
    "name": "a", "group": None, "state": "up", "pid": 1, "uptime": 5.0, "restarts": 0,
    "memory": 1, "cpu": 0.0, "reason": None,
}], color=True)
try:  # the whole status path up to the connection (no daemon on this socket)
    main(["status", "--socket", sys.argv[1]], standalone_mode=False)
except Exception as exc:
    code = getattr(exc, "exit_code", None)
else:
    code = 0
print(json.dumps({"code": code, "heavy": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


def test_client_path_imports_nothing_of_the_daemon(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, str(tmp_path / "none.sock"), *HEAVY],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] == 4  # no daemon: the call really went through rpc.Client
    assert result["heavy"] == []


def test_importing_godpy_is_lazy(tmp_path):
    code = "import sys, godpy; print(sorted(m for m in sys.modules if m.startswith('godpy')))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "['godpy', 'godpy.version']"
