"""disk_usage: statvfs's view of a filesystem, the same number df prints."""

import os
import shutil
import subprocess

import pytest
from condition_kit import bound, config_problems
from godpy.conditions.disk_usage import DiskUsage, usage_percent


@pytest.fixture
def small_fs(tmp_path):
    """A 1 MB tmpfs (root only), unmounted at teardown."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_filling_a_filesystem_fires(small_fs):
    """Writing 700 KB into a 1 MB tmpfs crosses 50%; deleting it goes back under."""
    cond = bound(DiskUsage, mount_point=str(small_fs), above="50%")
    assert cond.check() is False
    (small_fs / "blob").write_bytes(b"x" * 700 * 1024)
    assert cond.check() is True
    assert cond.info.startswith("disk space out of bounds [")
    (small_fs / "blob").unlink()
    assert cond.check() is False


@pytest.mark.skipif(shutil.which("df") is None, reason="df not installed")
def test_percent_matches_df(tmp_path):
    """usage_percent is df -P's Use% for the same path (within a point of drift)."""
    line = subprocess.run(["df", "-P", str(tmp_path)], capture_output=True, text=True)
    df_use = int(line.stdout.splitlines()[-1].split()[4].rstrip("%"))
    assert abs(usage_percent(str(tmp_path)) - df_use) <= 1


def test_current_usage_against_limits(tmp_path):
    """Just under the current usage is true; 100% is never exceeded."""
    now = usage_percent(str(tmp_path))
    if now >= 1:
        assert bound(DiskUsage, mount_point=str(tmp_path), above=now - 1).check() is True
    assert bound(DiskUsage, mount_point=os.fspath(tmp_path), above=100).check() is False


def test_bad_configuration_is_refused(tmp_path):
    """A missing mount point and a limit over 100% are reported."""
    text = config_problems(
        tmp_path,
        "with w.restart_if() as on:\n"
        '    on.condition("disk_usage", mount_point="/no/such/mount", above=150)\n',
    )
    assert "condition disk_usage: mount_point '/no/such/mount' does not exist" in text
    assert "condition disk_usage: above must be at most 100%, got 150" in text
