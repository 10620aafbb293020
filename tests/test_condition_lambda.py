"""lambda: a callable decides; God's keyword attribute is spelled ``lambda_``."""

from condition_kit import bound, config_problems, load_config
from godpy.conditions.lambda_ import Lambda


def test_fires_when_the_callable_returns_truthy(tmp_path):
    """The callable's answer is the result; the info says which."""
    flag = tmp_path / "restart-me"
    cond = bound(Lambda, lambda_=flag.exists)
    assert cond.check() is False
    assert cond.info == "lambda condition was not satisfied"
    flag.touch()
    assert cond.check() is True
    assert cond.info == "lambda condition was satisfied"


def test_gods_name_lambda_is_accepted_as_an_alias():
    """setattr(c, "lambda", f) and condition("lambda", **{"lambda": f}) set lambda_."""
    cond = Lambda()
    setattr(cond, "lambda", lambda: 1)
    assert cond.lambda_() == 1
    assert Lambda(**{"lambda": lambda: 2}).lambda_() == 2


def test_loop_closures_bind_each_iteration(tmp_path):
    """Built in a loop with a default argument, each watch's lambda sees its own value."""
    session = load_config(
        tmp_path,
        """\
        for n in (1, 2):
            with w.transition("up", "restart") as on:
                on.condition("lambda", lambda_=lambda n=n: n == 2)
        """,
    )
    conds = [c for _s, _m, c in session.tasks[0].each_condition()]
    assert [c.test() for c in conds] == [False, True]


def test_missing_or_uncallable_lambda_is_refused(tmp_path):
    """No callable, or a value that is not one, is a config error naming the attribute."""
    text = config_problems(
        tmp_path,
        """\
        with w.restart_if() as on:
            on.condition("lambda")
            on.condition("lambda", lambda_=42)
        """,
    )
    assert "condition lambda: 'lambda_' is required" in text
    assert "condition lambda: lambda_ must be a callable taking no arguments, got 42" in text
