"""Timeline: the bounded history behind ``times = (x, y)``."""

from godpy.timeline import Timeline


def test_keeps_only_the_last_size_readings():
    """When full, pushing drops the oldest reading."""
    tl = Timeline(3)
    for item in (1, 2, 3, 4, 5):
        tl.push(item)
    assert list(tl) == [3, 4, 5]
    assert len(tl) == 3


def test_count_counts_matching_readings():
    """count(item) counts equal readings only; the default counts True."""
    tl = Timeline(5)
    for item in (True, False, True, True, False):
        tl.push(item)
    assert tl.count() == 3
    assert tl.count(False) == 2
    assert tl.count("x") == 0


def test_count_forgets_dropped_readings():
    """A True that fell off the window no longer counts."""
    tl = Timeline(2)
    tl.push(True)
    tl.push(False)
    tl.push(False)
    assert tl.count(True) == 0


def test_full_once_size_readings_are_held():
    """full is False until the timeline holds ``size`` readings, and stays True after."""
    tl = Timeline(2)
    assert not tl.full
    tl.push(1)
    assert not tl.full
    tl.push(2)
    assert tl.full
    tl.push(3)
    assert tl.full


def test_clear_forgets_everything():
    """clear empties the timeline; it fills again from scratch."""
    tl = Timeline(2)
    tl.push(True)
    tl.push(True)
    tl.clear()
    assert len(tl) == 0 and not tl.full and tl.count() == 0
    tl.push(True)
    assert list(tl) == [True]


def test_iterates_oldest_first():
    """Iteration yields readings oldest first."""
    tl = Timeline(4)
    for item in "abc":
        tl.push(item)
    assert list(tl) == ["a", "b", "c"]
