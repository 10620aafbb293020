"""degrading_lambda: a health check that is retried faster before it gives up."""

import threading

from godpy.condition import PollCondition


class DegradingLambda(PollCondition):
    """True on the third failure in a row of a health check.

    The callable returns truthy when all is well. A failure (falsy, an exception, or no
    answer within ``timeout``) halves the interval, twice at most, so a sick process is
    looked at again sooner; the third failure in a row triggers. A success restores the
    interval. The callable runs in a helper thread, so the driver waits at most
    ``timeout``; while a timed-out call is still running no new one is started.

    Attributes:
        lambda_: a callable taking no arguments, truthy when healthy (required); God's
            ``lambda``, see the ``lambda`` condition.
        timeout: seconds to wait for an answer (default: the current interval).

    Example:
        ``on.condition("degrading_lambda", lambda_=lambda: ping(), interval=20)``
    """

    lambda_ = None
    timeout = None
    required = ("lambda_",)
    units = {**PollCondition.units, "timeout": "seconds"}

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._tries = 0
        self._original = None
        self._running: threading.Thread | None = None

    def __setattr__(self, name, value):
        super().__setattr__("lambda_" if name == "lambda" else name, value)

    def valid(self) -> list[str]:
        """The callable must be callable."""
        problems = super().valid()
        if self.lambda_ is not None and not callable(self.lambda_):
            problems.append(f"{self.describe()}: lambda_ must be a callable, got {self.lambda_!r}")
        return problems

    def test(self) -> bool:
        """Run the check; degrade the interval on failure, trigger on the third."""
        if self._original is None:
            self._original = self.interval
        if self._passes():
            self._tries = 0
            self.interval = self._original
            self.info = "lambda condition was not satisfied"
            return False
        if self._tries >= 2:
            self.info = "lambda condition was satisfied (3 failures in a row)"
            return True
        self._tries += 1
        self.interval = self.interval / 2.0
        self.info = f"lambda check failed; checking again in {self.interval:g}s"
        return False

    def _passes(self) -> bool:
        if self._running is not None and self._running.is_alive():
            return False  # the previous call is still stuck
        answer: list = []

        def call():
            try:
                answer.append(bool(self.lambda_()))
            except Exception:
                answer.append(False)

        self._running = threading.Thread(target=call, name="degrading_lambda", daemon=True)
        self._running.start()
        self._running.join(self.timeout if self.timeout is not None else self.interval)
        return bool(answer and answer[0])

    def reset(self) -> None:
        """Leaving the state restores the interval and forgets failures."""
        super().reset()
        if self._original is not None:
            self.interval = self._original
        self._tries = 0
