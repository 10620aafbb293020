"""complex: several poll conditions combined with and / or / not."""

from godpy.condition import PollCondition

_WORDS = {"this": "", "and": "and ", "or": "or ", "and_not": "and not ", "or_not": "or not "}


class Complex(PollCondition):
    """True when its sub-conditions, combined left to right, are true.

    Sub-conditions are added with methods named after God's (``and``, ``or`` and
    ``not`` are Python keywords, hence the underscores): ``c.this(kind, **attrs)``
    starts, then ``c.and_``, ``c.or_``, ``c.and_not``, ``c.or_not`` each combine one more.
    Each returns the sub-condition, so it can also be a ``with`` block. Evaluation is
    left to right with no precedence and short-circuits like Python's ``and``/``or``
    (a skipped sub-condition is not tested that round). Without ``this``, the start
    value is true when the first word is an ``and``, false otherwise. A sub-condition's
    own ``times`` counts its own results; ``transition`` and ``notify`` belong on the
    complex condition, not on its parts.

    Attributes:
        times: true ``x`` times in the last ``y`` checks of the whole (default 1).

    Example::

        with on.condition("complex", times=(2, 3)) as c:
            c.this("memory_usage", above="300MB")
            c.and_("cpu_usage", above="50%")
            c.and_not("file_mtime", path="/tmp/busy", max_age=60)
    """

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._parts: list[tuple[str, PollCondition]] = []

    def this(self, kind, **attrs) -> PollCondition:
        """Start with this sub-condition (must come first)."""
        return self._add("this", kind, attrs)

    def and_(self, kind, **attrs) -> PollCondition:
        """... and this one is true (God's ``and``)."""
        return self._add("and", kind, attrs)

    def or_(self, kind, **attrs) -> PollCondition:
        """... or this one is true (God's ``or``)."""
        return self._add("or", kind, attrs)

    def and_not(self, kind, **attrs) -> PollCondition:
        """... and this one is false."""
        return self._add("and_not", kind, attrs)

    def or_not(self, kind, **attrs) -> PollCondition:
        """... or this one is false."""
        return self._add("or_not", kind, attrs)

    def _add(self, word: str, kind, attrs: dict) -> PollCondition:
        if self.task is not None:
            kind = self.task.plugins.condition(kind)
        cond = kind(**attrs)
        cond.bind(self.task, self.metric)
        self._parts.append((word, cond))
        return cond

    def prepare(self) -> None:
        """Prepare the sub-conditions too."""
        super().prepare()
        for _word, cond in self._parts:
            cond.prepare()

    def valid(self) -> list[str]:
        """At least one poll sub-condition, ``this`` only first; theirs problems too."""
        where = self.describe()
        problems = super().valid()
        if not self._parts:
            problems.append(f"{where}: add sub-conditions with c.this(...), c.and_(...), ...")
        if any(word == "this" for word, _ in self._parts[1:]):
            problems.append(f"{where}: 'this' must be the first sub-condition, and only once")
        for _word, cond in self._parts:
            if not isinstance(cond, PollCondition):
                problems.append(f"{where}: {cond.describe()} is not a poll condition")
                continue
            if cond.transition is not None or cond.notify is not None:
                problems.append(
                    f"{where}: set transition and notify on the complex condition, "
                    f"not on {cond.describe()}"
                )
            problems += [f"{where}: {p}" for p in cond.valid()]
        return problems

    def test(self) -> bool:
        """Combine the sub-conditions left to right, short-circuiting."""
        value = bool(self._parts) and self._parts[0][0].startswith("and")
        said = []
        for word, cond in self._parts:
            negate = word.endswith("not")
            if word == "this":
                value = cond.check()
            elif (word.startswith("and") and not value) or (word.startswith("or") and value):
                continue  # decided already: not tested this round
            else:
                value = cond.check() != negate
            said.append(f"{_WORDS[word]}{cond.info or type(cond).__name__}")
        self.info = "; ".join(said)
        return value

    def reset(self) -> None:
        """The sub-conditions forget their readings too."""
        super().reset()
        for _word, cond in self._parts:
            cond.reset()
