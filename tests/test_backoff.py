"""Backoff: the delay schedule of keepalive's restarts after quick deaths (pure logic)."""

import pytest

from godpy.backoff import Backoff


def test_first_start_after_rearm_is_immediate():
    """The start an operator asked for (or the daemon's first) never waits."""
    assert Backoff().next_delay(0.01) == 0.0


def test_quick_deaths_double_the_delay_up_to_the_cap():
    """100 ms, 200 ms, 400 ms ... capped at restart_delay_max."""
    backoff = Backoff(restart_delay=0.1, restart_delay_max=1.0, stable_after=10)
    backoff.next_delay(None)
    delays = [backoff.next_delay(0.01) for _ in range(7)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    assert backoff.quick_deaths == 7


def test_a_stable_run_resets_the_count_and_restarts_at_once():
    """A run of stable_after or more: the next crash restarts at once, and counting restarts."""
    backoff = Backoff(restart_delay=0.1, restart_delay_max=30, stable_after=10)
    backoff.next_delay(None)
    backoff.next_delay(1.0)
    backoff.next_delay(1.0)
    assert backoff.next_delay(10.0) == 0.0
    assert backoff.quick_deaths == 0
    assert backoff.next_delay(0.5) == pytest.approx(0.1)


def test_an_adopted_process_counts_as_a_good_run():
    """lived=None (a process godpy did not start): restarted at once."""
    backoff = Backoff()
    backoff.next_delay(None)
    assert backoff.next_delay(None) == 0.0


def test_start_retries_gives_up_after_that_many_quick_deaths():
    """start_retries=3: the third quick death in a row gives up (None)."""
    backoff = Backoff(restart_delay=0.1, start_retries=3)
    assert backoff.next_delay(None) == 0.0  # the first start
    assert backoff.next_delay(0.01) == pytest.approx(0.1)
    assert backoff.next_delay(0.01) == pytest.approx(0.2)
    assert backoff.next_delay(0.01) is None


def test_rearm_forgets_the_deaths():
    """The operator's start re-arms: immediate start, count from zero."""
    backoff = Backoff(restart_delay=0.1, start_retries=2)
    backoff.next_delay(None)
    backoff.next_delay(0.01)
    assert backoff.next_delay(0.01) is None
    backoff.rearm()
    assert (backoff.next_delay(0.01), backoff.quick_deaths) == (0.0, 0)
    assert backoff.next_delay(0.01) == pytest.approx(0.1)


def test_huge_counts_do_not_overflow():
    """Thousands of quick deaths keep returning the cap."""
    backoff = Backoff(restart_delay=0.1, restart_delay_max=30)
    assert backoff.delay_for(5000) == 30
    assert backoff.delay_for(0) == 0.0
