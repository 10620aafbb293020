"""cpu_usage: the rate since the previous check, not the lifetime average (God #200)."""

import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from conftest import wait_until
from godpy.conditions.cpu_usage import CpuUsage

SPIN_THEN_IDLE = (
    "import time, sys\nend = time.time() + 0.6\nwhile time.time() < end: pass\n"
    "print('idle', flush=True)\ntime.sleep(60)\n"
)
SPIN = "while True: pass\n"


def _condition(pid, **attrs):
    cond = CpuUsage(**attrs)
    cond.bind(SimpleNamespace(process=SimpleNamespace(pid=pid, last_exit=None)), None)
    cond.prepare()
    return cond


@pytest.fixture
def spawn(pids):
    procs = []

    def start(code):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        pids.add(proc.pid)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_idle_after_busy_reads_low_unlike_a_lifetime_average(spawn):
    """A process that spun then idles reads ~0% on the next check, not its lifetime mean."""
    proc = spawn(SPIN_THEN_IDLE)
    cond = _condition(proc.pid, above=50)
    assert proc.stdout.readline().strip() == "idle"
    cond.check()  # since start: mostly busy
    time.sleep(0.3)  # let idle time accumulate between two real readings
    assert cond.check() is False
    assert "within bounds" in cond.info
    second = float(cond.info.split("[")[1].split("%")[0])
    assert second < 10.0, cond.info


def test_busy_process_triggers_and_info_marks_readings(spawn):
    """A spinning process is above 20% and the info line stars the readings over it."""
    proc = spawn(SPIN)
    cond = _condition(proc.pid, above=20, times=(2, 3))
    wait_until(lambda: cond.check(), timeout=10, interval=0.1)
    assert cond.info.startswith("cpu out of bounds [*")
    assert cond.info.count("*") >= 2


def test_no_process_is_never_true():
    """Without a pid the condition is false and says so."""
    cond = _condition(None, above=1)
    assert cond.check() is False
    assert cond.info == "process is not running"


def test_above_accepts_percent_strings():
    """above='50%' is 50.0; a bad string names the attribute."""
    assert CpuUsage(above="50%").above == 50.0
    with pytest.raises(AttributeError, match="above: bad percentage"):
        CpuUsage(above="fifty")
