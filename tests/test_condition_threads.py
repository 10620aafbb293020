"""threads: a real process that starts too many threads."""

import pytest
from condition_kit import bound, config_problems, python_child
from godpy.conditions.threads import Threads

SPAWNER = """
import threading, time
stop = threading.Event()
for _ in range(25):
    threading.Thread(target=stop.wait, daemon=True).start()
print("ready", flush=True)
time.sleep(60)
"""


def test_thread_leak_fires(pids):
    """26 threads cross above=20; a single-threaded process does not."""
    leaky = python_child(pids, SPAWNER)
    cond = bound(Threads, leaky.pid, above=20)
    assert cond.check() is True
    assert cond.info == "threads out of bounds [*26]"
    calm = python_child(pids, "print(1, flush=True); import time; time.sleep(60)")
    assert bound(Threads, calm.pid, above=20).check() is False


@pytest.mark.parametrize(
    "attrs, message",
    [("", "'above' is required"), ("above=-1", "above must be a number of threads")],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake is reported against condition threads."""
    text = config_problems(
        tmp_path, f'with w.restart_if() as on:\n    on.condition("threads", {attrs})\n'
    )
    assert f"condition threads: {message}" in text
