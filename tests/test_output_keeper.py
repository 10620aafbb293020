"""The output keeper's parts without a daemon: the tail ring, rotation by size, and
lines kept whole when stdout and stderr share a file."""

import os

from godpy.output_files import RING_BYTES, AsUser, LogFile, Ring, WatchOutput


def test_ring_gives_the_last_lines():
    ring = Ring()
    for i in range(50):
        ring.add(f"line {i}\n".encode())
    assert ring.tail(3, None)["text"] == "line 47\nline 48\nline 49\n"
    assert ring.tail(0, None)["text"] == ""


def test_ring_gives_a_partial_last_line_as_a_line():
    ring = Ring()
    ring.add(b"a\nb\nc")
    assert ring.tail(2, None)["text"] == "b\nc"


def test_ring_since_a_cursor_and_what_was_not_kept():
    ring = Ring()
    ring.add(b"x" * 10)
    cursor = ring.tail(0, None)["cursor"]
    ring.add(b"new\n")
    assert ring.tail(0, cursor) == {"text": "new\n", "cursor": 14, "skipped": 0}
    for _ in range(5):
        ring.add(b"y" * RING_BYTES)
    after = ring.tail(0, 14)
    assert after["skipped"] > 0
    assert after["cursor"] == 14 + 5 * RING_BYTES
    assert ring.size <= 2 * RING_BYTES


def test_log_rotates_at_its_size_and_keeps_its_backups(tmp_path):
    path = str(tmp_path / "app.log")
    log = LogFile(path, 1000, 2, AsUser(None))
    log.open()
    for i in range(100):
        log.write(f"{i:04d} {'x' * 45}\n".encode())  # 50 bytes a line: 5,000 in all
    log.close()
    names = sorted(os.listdir(tmp_path))
    assert names == ["app.log", "app.log.1", "app.log.2"]
    for name in names:
        size = os.path.getsize(tmp_path / name)
        assert 0 < size <= 1000
        assert (tmp_path / name).read_bytes().endswith(b"\n")  # cut at a line's end
    assert (tmp_path / "app.log").read_bytes().endswith(b"0099 " + b"x" * 45 + b"\n")


def test_a_chunk_larger_than_the_limit_is_split(tmp_path):
    path = str(tmp_path / "app.log")
    log = LogFile(path, 100, 1, AsUser(None))
    log.open()
    log.write(b"z" * 250)
    log.close()
    assert os.path.getsize(path) == 50
    assert os.path.getsize(path + ".1") == 100


def test_no_backups_truncates(tmp_path):
    path = str(tmp_path / "app.log")
    log = LogFile(path, 100, 0, AsUser(None))
    log.open()
    log.write(b"a" * 90 + b"\n")
    log.write(b"b" * 20 + b"\n")
    log.close()
    assert os.listdir(tmp_path) == ["app.log"]
    assert (tmp_path / "app.log").read_bytes() == b"b" * 20 + b"\n"


def test_log_is_never_opened_through_a_symlink(tmp_path):
    target = tmp_path / "elsewhere"
    os.symlink(target, tmp_path / "app.log")
    output = WatchOutput("app")
    problems = output.configure({"log": str(tmp_path / "app.log"), "backups": 5})
    assert problems and "cannot open" in problems[0]
    assert not target.exists()


def test_shared_file_keeps_lines_whole(tmp_path):
    """stdout and stderr written in pieces land in one file as whole lines."""
    path = tmp_path / "app.log"
    output = WatchOutput("app")
    assert output.configure({"log": str(path), "backups": 5}) == []
    output.take("out", b"hello ", 1.0)
    output.take("err", b"oops\n", 1.0)
    output.take("out", b"world\n", 1.0)
    output.close()
    assert path.read_bytes() == b"oops\nhello world\n"
    assert output.rings["out"].tail(5, None)["text"] == "hello world\n"
    assert output.rings["err"].tail(5, None)["text"] == "oops\n"


def test_a_partial_line_is_written_after_a_while(tmp_path):
    path = tmp_path / "app.log"
    output = WatchOutput("app")
    output.configure({"log": str(path), "backups": 5})
    output.take("out", b"prompt> ", 10.0)
    output.flush_partial(10.1)
    assert path.read_bytes() == b""
    output.flush_partial(10.3)
    assert path.read_bytes() == b"prompt> "
