"""Keepalive's lifecycle on a fake clock: a crash loop backs off, gives up, and obeys the
operator. The process is a fake that dies as soon as it starts (unit tier: no sleep)."""

import pytest

from godpy.driver import Driver
from godpy.process import Children
from godpy.watch import Watch


class DyingProcess:
    """Stands in for Process: every start dies at once, 10 ms in."""

    self_daemonizing = False
    pid = None
    on_exit = None
    restarts = 0
    last_exit = None

    def __init__(self, clock):
        self.clock = clock
        self.starts = []

    def settle(self):
        return False

    def start(self):
        self.starts.append(self.clock())
        self.last_exit = "exited with code 1"

    def stop(self):
        pass

    def reap(self):
        return self.last_exit

    def current_pid(self):
        return None

    def lived(self):
        return 0.01 if self.starts else None

    def exit_reason(self):
        return "exited with code 1 after 0.01s" if self.starts else None

    def observe(self):
        return None, None


def crash_loop(tmp_path, clock, lifecycle=None, **keepalive):
    """A kept-alive watch over a DyingProcess, monitored, its driver on ``clock``;
    ``lifecycle(w)`` may declare more before the watch is built."""
    w = Watch(name="w", start="x", interval=30)
    w.keepalive(**keepalive)
    if lifecycle is not None:
        lifecycle(w)
    w.build(str(tmp_path), Children())
    w.prepare()
    w._process = fake = DyingProcess(clock)
    driver = Driver(w, clock=clock)
    w.attach_runtime(driver)
    driver.message("monitor")
    return w, driver, fake


def run_for(driver, clock, seconds, step=0.01):
    """Serve the driver while the fake clock moves ``seconds`` forward in ``step``s."""
    for _ in range(round(seconds / step)):
        driver.run_pending()
        clock.advance(step)
    driver.run_pending()


def test_crash_loop_backs_off_doubling_to_the_cap(tmp_path, clock):
    """Starts at once, then 0.1, 0.2, 0.4 s apart, then every 0.5 s (the cap): never stalls."""
    w, driver, fake = crash_loop(tmp_path, clock, restart_delay="100ms", restart_delay_max="500ms")
    run_for(driver, clock, 3.0)
    gaps = [round(b - a, 2) for a, b in zip(fake.starts, fake.starts[1:], strict=False)]
    assert gaps[:6] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5, 0.5], abs=0.011)
    assert w.state == "start"
    snap = w.snapshot()
    assert snap["reason"] == "exited with code 1 after 0.01s"
    assert 0 <= snap["next_start_in"] <= 0.5


def test_start_retries_ends_in_failed_and_start_rearms(tmp_path, clock):
    """start_retries=3: three quick deaths, then state failed with the reason; the
    operator's start tries again at once."""
    w, driver, fake = crash_loop(tmp_path, clock, start_retries=3)
    run_for(driver, clock, 5.0)
    assert (w.state, len(fake.starts)) == ("failed", 3)
    assert w.snapshot()["reason"] == (
        "gave up after 3 quick death(s) in a row: exited with code 1 after 0.01s"
    )
    run_for(driver, clock, 60.0, step=1.0)
    assert len(fake.starts) == 3  # failed means no more starts
    driver.message("control", "start")
    driver.run_pending()
    assert len(fake.starts) == 4
    assert fake.starts[-1] == clock()


def test_stop_cancels_a_pending_backoff_start(tmp_path, clock):
    """An operator's stop while a start waits out its backoff: nothing starts later."""
    w, driver, fake = crash_loop(tmp_path, clock, restart_delay="10s", restart_delay_max="10s")
    run_for(driver, clock, 0.1)
    assert w.snapshot()["next_start_in"] is not None
    started = len(fake.starts)
    driver.message("control", "stop")
    run_for(driver, clock, 60.0, step=1.0)
    assert (w.state, len(fake.starts)) == ("unmonitored", started)
    assert w.snapshot()["next_start_in"] is None


def test_operator_stop_cancels_flapping_retry(tmp_path, clock):
    """Flapping's retry_in is a task timer: `stop` cancels it, the watch stays stopped."""

    def flapping(w):
        with w.lifecycle() as on:
            on.condition(
                "flapping", to_state="start", times=3, within=60, transition="unmonitored",
                retry_in=5,
            )  # fmt: skip

    w, driver, fake = crash_loop(tmp_path, clock, flapping, restart_delay=0)
    run_for(driver, clock, 0.5)
    assert w.state == "unmonitored"  # flapped, retry pending
    assert len(w._timers) == 1
    driver.message("control", "stop")
    started = len(fake.starts)
    run_for(driver, clock, 30.0, step=0.5)
    assert (w.state, len(fake.starts)) == ("unmonitored", started)
