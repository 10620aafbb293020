"""Restart a batch worker while the machine is overloaded (uses the load_average plugin).

pip install ./examples/plugin
godpy -c examples/plugin/load_average.god.py -D
"""

import sys

from godpy import God

with God.watch() as w:
    w.name = "batch"
    w.start = [sys.executable, "-c", "import time; time.sleep(3600)"]
    w.interval = 5
    w.keepalive()
    # Overloaded for 3 of the last 5 checks: stop it; `godpy start batch` brings it back.
    with w.stop_if() as on:
        on.condition("load_average", above=8, minutes=5, times=(3, 5))
