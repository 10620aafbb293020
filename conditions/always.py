"""always: a poll condition with a fixed result."""

from godpy.condition import PollCondition


class Always(PollCondition):
    """Always returns ``what``; used for transitions that should happen at once.

    Attributes:
        what: the result of every test, True or False (required).

    Example:
        ``w.transition("clean", "ok")`` adds ``always(what=True)`` by itself.
    """

    what = None
    required = ("what",)

    def test(self) -> bool:
        """Return ``what``."""
        self.info = "always"
        return bool(self.what)
