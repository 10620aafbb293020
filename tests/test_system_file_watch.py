"""examples/file_watch.god.py: a generic task renames a growing file, deletes a big one."""

import os
from pathlib import Path

from conftest import wait_until

EXAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "file_watch.god.py"
)


def test_file_watch_task_archives_then_deletes(tmp_path, godpy_run, monkeypatch):
    """Above 15 bytes the file is renamed to ARCHIVE; above 30 bytes it is deleted."""
    target, archive = tmp_path / "watched.txt", tmp_path / "watched.old"
    monkeypatch.setenv("FILE", str(target))
    monkeypatch.setenv("ARCHIVE", str(archive))
    monkeypatch.setenv("INTERVAL", "0.05")
    run = godpy_run(Path(EXAMPLE).read_text(), "--no-events")
    run.wait_log("file-watch move 'unmonitored' to 'watching'")

    target.write_text("small")
    target.write_text("twenty bytes here!!!")
    wait_until(lambda: archive.exists() and not target.exists())
    assert archive.read_text() == "twenty bytes here!!!"

    target.write_text("x" * 40)
    wait_until(lambda: not target.exists())
    assert archive.read_text() == "twenty bytes here!!!"
    run.wait_log("file-watch move 'delete' to 'watching'")
    assert run.terminate() == 0
