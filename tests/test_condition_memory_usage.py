"""memory_usage: resident memory above a limit, of a process or its whole tree."""

import subprocess
import sys
from types import SimpleNamespace

import pytest
from godpy.conditions.memory_usage import MemoryUsage

# The parent stays small; its child holds 60 MB.
TREE = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', "
    "'b = bytearray(60 * 1024 * 1024)\\nfor i in range(0, len(b), 4096): b[i] = 1\\n"
    "print(1, flush=True)\\nimport time; time.sleep(60)'], stdout=subprocess.PIPE)\n"
    "child.stdout.readline()\nprint(child.pid, flush=True)\ntime.sleep(60)\n"
)


def _condition(pid, **attrs):
    cond = MemoryUsage(**attrs)
    cond.bind(SimpleNamespace(process=SimpleNamespace(pid=pid, last_exit=None)), None)
    cond.prepare()
    return cond


@pytest.fixture
def tree(pids):
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    pids.add(proc.pid)
    child = pids.add(int(proc.stdout.readline()))
    yield proc.pid, child
    proc.kill()
    proc.wait()


def test_tree_counts_descendants(tree):
    """tree=True adds the child's 60 MB; the parent alone stays under 40 MB."""
    parent, _child = tree
    assert _condition(parent, above="40MB").check() is False
    alone = _condition(parent, above="40MB", tree=True)
    assert alone.check() is True
    assert alone.info.startswith("memory out of bounds [*")


def test_times_needs_x_of_the_last_y(tree):
    """times=(2, 3): the first reading over the limit is not enough, the second is."""
    _parent, child = tree
    cond = _condition(child, above="40MB", times=(2, 3))
    assert cond.check() is False
    assert cond.check() is True


def test_reset_forgets_history(tree):
    """After reset (the state was left) the count starts again."""
    _parent, child = tree
    cond = _condition(child, above="40MB", times=2)
    cond.check()
    cond.reset()
    assert cond.check() is False


def test_bad_memory_string_is_refused():
    """above='150XB' is refused at assignment with a hint."""
    with pytest.raises(AttributeError, match="bad memory size '150XB'"):
        MemoryUsage(above="150XB")
