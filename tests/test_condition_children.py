"""children: a real pre-forking parent whose workers die or multiply."""

import pytest
from condition_kit import bound, config_problems, python_child
from conftest import wait_until
from godpy.conditions.children import Children

# A master with 3 sleeping workers and one exited child it never reaps (a zombie);
# each worker has a child of its own. Prints the worker pids.
MASTER = """
import subprocess, sys, time
code = "import subprocess, sys, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
workers = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
subprocess.Popen(["true"])
print(" ".join(str(w.pid) for w in workers), flush=True)
time.sleep(60)
"""


@pytest.fixture
def master(pids):
    proc = python_child(pids, MASTER, ready=False)
    workers = [pids.add(int(pid)) for pid in proc.stdout.readline().split()]
    return proc, workers


def test_counts_live_children_only(master):
    """3 workers, the zombie not counted: below=4 and above=2 fire, above=3 does not."""
    proc, _ = master
    wait_until(lambda: bound(Children, proc.pid, above=2).check(), timeout=5)
    cond = bound(Children, proc.pid, below=4)
    assert cond.check() is True
    assert cond.info == "children out of bounds [3]"
    assert bound(Children, proc.pid, above=3).check() is False


def test_a_dead_worker_fires_below(master):
    """Killing a worker drops the count under below=3."""
    import os
    import signal

    proc, workers = master
    cond = bound(Children, proc.pid, below=3)
    assert cond.check() is False
    os.kill(workers[0], signal.SIGKILL)
    wait_until(cond.check, timeout=5)


def test_recursive_counts_grandchildren(master):
    """recursive=True adds each worker's own child."""
    proc, _ = master
    cond = bound(Children, proc.pid, above=5, recursive=True)
    wait_until(cond.check, timeout=5)


@pytest.mark.parametrize(
    "attrs, message",
    [("", "set 'above', 'below' or both"), ("below='four'", "below must be a number of")],
)
def test_bad_configuration_is_refused(tmp_path, attrs, message):
    """Each mistake is reported against condition children."""
    text = config_problems(
        tmp_path, f'with w.restart_if() as on:\n    on.condition("children", {attrs})\n'
    )
    assert f"condition children: {message}" in text
