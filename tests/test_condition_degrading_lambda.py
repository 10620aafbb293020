"""degrading_lambda: failures halve the interval twice, the third one triggers."""

import threading
import time

from condition_kit import bound, config_problems
from godpy.conditions.degrading_lambda import DegradingLambda


def test_three_failures_in_a_row_trigger_and_success_restores(tmp_path):
    """Interval 4 -> 2 -> 1 on failures, the third failure is true; a pass restores 4."""
    health = tmp_path / "healthy"
    cond = bound(DegradingLambda, lambda_=health.exists, interval=4)
    assert [cond.check(), cond.interval] == [False, 2]
    assert [cond.check(), cond.interval] == [False, 1]
    assert cond.check() is True
    assert "3 failures in a row" in cond.info
    health.touch()
    assert [cond.check(), cond.interval] == [False, 4]


def test_exception_counts_as_a_failure():
    """A check that raises is a failure, not a crash."""
    cond = bound(DegradingLambda, lambda_=lambda: 1 / 0, interval=1)
    assert cond.check() is False and cond.interval == 0.5


def test_hung_check_is_abandoned_after_timeout_and_not_stacked():
    """A check that hangs costs the driver only ``timeout``; no second call meanwhile."""
    release, calls = threading.Event(), []

    def hang():
        calls.append(1)
        return release.wait(60)

    cond = bound(DegradingLambda, lambda_=hang, interval=1, timeout=0.1)
    started = time.monotonic()
    assert cond.check() is False
    assert cond.check() is False
    assert time.monotonic() - started < 20  # not stuck (the callable hangs 60 s)
    assert calls == [1]
    release.set()


def test_reset_restores_the_interval():
    """Leaving the state forgets the failures and restores the interval."""
    cond = bound(DegradingLambda, lambda_=lambda: False, interval=2)
    cond.check()
    cond.reset()
    assert cond.interval == 2


def test_uncallable_lambda_is_refused(tmp_path):
    """lambda_ must be callable."""
    text = config_problems(
        tmp_path,
        'with w.restart_if() as on:\n    on.condition("degrading_lambda", lambda_="ping")\n',
    )
    assert "condition degrading_lambda: lambda_ must be a callable, got 'ping'" in text
