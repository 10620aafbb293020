"""complex: this / and_ / or_ / and_not / or_not over real sub-conditions."""

from types import SimpleNamespace

import pytest
from condition_kit import config_problems, load_config, python_child
from conftest import wait_until
from godpy.conditions.complex import Complex

from godpy.registry import Plugins

HOG = """
b = bytearray(60 * 1024 * 1024)
for i in range(0, len(b), 4096): b[i] = 1
print("ready", flush=True)
while True: pass
"""


def complex_of(tmp_path, body):
    """The complex condition built by ``body`` (inside ``with ... as c:``) in a config."""
    session = load_config(
        tmp_path,
        'with w.restart_if() as on:\n    with on.condition("complex") as c:\n'
        + "".join(f"        {line}\n" for line in body.strip().splitlines()),
    )
    return next(cond for _s, _m, cond in session.tasks[0].each_condition())


def on_process(pid, *parts):
    """A complex condition watching ``pid``, from (word, kind, attrs) parts."""
    task = SimpleNamespace(process=SimpleNamespace(pid=pid, last_exit=None), plugins=Plugins())
    cond = Complex()
    cond.bind(task, None)
    for word, kind, attrs in parts:
        getattr(cond, word)(kind, **attrs)
    cond.prepare()
    return cond


def test_memory_and_cpu_hog_fires(pids):
    """A process over both limits: memory and cpu is true; and_not cpu is false."""
    hog = python_child(pids, HOG)
    memory = ("this", "memory_usage", {"above": "40MB"})
    both = on_process(hog.pid, memory, ("and_", "cpu_usage", {"above": "20%"}))
    wait_until(both.check, timeout=10, interval=0.1)
    assert both.info.startswith("memory out of bounds [*")
    assert "; and cpu out of bounds" in both.info
    not_busy = on_process(hog.pid, memory, ("and_not", "cpu_usage", {"above": "20%"}))
    # a reading is a rate since the last one: on a busy machine one may dip under 20 %
    wait_until(lambda: not_busy.check() is False, timeout=10, interval=0.1)


@pytest.mark.parametrize(
    "body, expected",
    [
        ('c.this("file_size", path=BIG, above=10)', True),
        (
            'c.this("file_size", path=BIG, above=10)\nc.and_("file_size", path=SMALL, above=10)',
            False,
        ),
        ('c.this("file_size", path=SMALL, above=10)\nc.or_("file_size", path=BIG, above=10)', True),
        (
            'c.this("file_size", path=BIG, above=10)\nc.and_not("file_size", path=SMALL, above=10)',
            True,
        ),
        (
            'c.this("file_size", path=SMALL, above=10)\nc.or_not("file_size", path=BIG, above=10)',
            False,
        ),
        ('c.and_("file_size", path=BIG, above=10)', True),  # no this: starts true for and
        ('c.or_("file_size", path=SMALL, above=10)', False),  # no this: starts false for or
    ],
)
def test_words_combine_left_to_right(tmp_path, body, expected):
    """Each word against real files, one 100 bytes, one 1 byte."""
    (tmp_path / "big").write_bytes(b"x" * 100)
    (tmp_path / "small").write_bytes(b"x")
    body = body.replace("BIG", repr(str(tmp_path / "big")))
    body = body.replace("SMALL", repr(str(tmp_path / "small")))
    assert complex_of(tmp_path, body).check() is expected


def test_short_circuit_skips_later_parts(tmp_path):
    """Once false, and_ parts are not tested (a costly check is not made)."""
    (tmp_path / "small").write_bytes(b"x")
    cond = complex_of(
        tmp_path,
        f'c.this("file_size", path={str(tmp_path / "small")!r}, above=10)\n'
        'c.and_("lambda", lambda_=lambda: 1 / 0)',
    )
    assert cond.check() is False


def test_sub_condition_times_and_reset(tmp_path):
    """A part's own times counts its results; reset clears the parts too."""
    (tmp_path / "big").write_bytes(b"x" * 100)
    cond = complex_of(
        tmp_path, f'c.this("file_size", path={str(tmp_path / "big")!r}, above=10, times=2)'
    )
    assert cond.check() is False
    assert cond.check() is True
    cond.reset()
    assert cond.check() is False


@pytest.mark.parametrize(
    "body, message",
    [
        ("pass", "add sub-conditions with c.this(...), c.and_(...), ..."),
        ('c.and_("always", what=True)\nc.this("always", what=True)', "'this' must be the first"),
        (
            'c.this("memory_usage")',
            "condition complex: condition memory_usage: 'above' is required",
        ),
        ('c.this("process_exits")', "condition process_exits is not a poll condition"),
        ('c.this("always", what=True, transition="stop")', "set transition and notify on the"),
    ],
)
def test_bad_configuration_is_refused(tmp_path, body, message):
    """Each mistake is reported against condition complex (and the part)."""
    text = config_problems(
        tmp_path,
        'with w.restart_if() as on:\n    with on.condition("complex") as c:\n'
        + "".join(f"        {line}\n" for line in body.splitlines()),
    )
    assert message in text


def test_unknown_part_and_typo_point_at_the_line(tmp_path):
    """A misspelled part or attribute fails at its own line with a suggestion."""
    text = config_problems(
        tmp_path,
        'with w.restart_if() as on:\n    with on.condition("complex") as c:\n'
        '        c.this("memory_usage", abvoe=1)\n',
    )
    assert "cond.god.py:9:" in text
    assert "did you mean 'above'?" in text
