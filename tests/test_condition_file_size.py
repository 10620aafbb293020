"""file_size: a file above a size, optionally below another."""

from godpy.conditions.file_size import FileSize


def _cond(**attrs):
    cond = FileSize(**attrs)
    cond.prepare()
    return cond


def test_above_and_band(tmp_path):
    """True above `above`; with `below`, only inside the band."""
    path = tmp_path / "f"
    path.write_text("x" * 20)
    assert _cond(path=str(path), above=15).check() is True
    assert _cond(path=str(path), above=15, below=18).check() is False
    assert _cond(path=str(path), above=25).check() is False


def test_missing_file_is_false_with_info(tmp_path):
    """A missing file is never true and the info says so."""
    cond = _cond(path=str(tmp_path / "none"), above=0)
    assert cond.check() is False
    assert cond.info.endswith("does not exist")


def test_invalid_configuration_messages():
    """Missing path/above and non-integer sizes are reported by valid()."""
    problems = FileSize(above="big").valid()
    assert "condition file_size: 'path' is required" in problems
    assert "condition file_size: above must be a number of bytes" in problems
