"""lambda: a Python callable decides."""

from godpy.condition import PollCondition


class Lambda(PollCondition):
    """True when the callable returns a truthy value.

    God's attribute is ``lambda``, a Python keyword: write ``c.lambda_ = ...`` (also
    ``on.condition("lambda", lambda_=...)``); ``setattr(c, "lambda", f)`` works too. The
    callable takes no arguments and runs on the watch's driver, so keep it quick. In a
    loop, bind the loop variable as a default argument (``lambda port=port: ...``).

    Attributes:
        lambda_: a callable taking no arguments (required).
        times: true ``x`` times in the last ``y`` checks (default 1).

    Example:
        ``on.condition("lambda", lambda_=lambda: os.path.exists("/tmp/restart-me"))``
    """

    lambda_ = None
    required = ("lambda_",)

    def __setattr__(self, name, value):
        super().__setattr__("lambda_" if name == "lambda" else name, value)

    def valid(self) -> list[str]:
        """The callable must be callable."""
        problems = super().valid()
        if self.lambda_ is not None and not callable(self.lambda_):
            problems.append(
                f"{self.describe()}: lambda_ must be a callable taking no arguments, "
                f"got {self.lambda_!r}"
            )
        return problems

    def test(self) -> bool:
        """Call the callable."""
        hit = bool(self.lambda_())
        self.info = f"lambda condition was {'' if hit else 'not '}satisfied"
        return hit
