"""The state file on disk: atomic 0600 writes, and every unusable file ignored, not fatal."""

import json
import os
import stat

from godpy.state_file import VERSION, StateFile, default_path


def test_round_trip_and_mode_0600(tmp_path):
    """What is written is read back; the file is 0600 whatever the umask."""
    old = os.umask(0)
    try:
        state = StateFile(str(tmp_path / "godpy.state"))
        state.write({"web": {"intent": "stopped", "pid": None}})
    finally:
        os.umask(old)
    assert state.read() == {"web": {"intent": "stopped", "pid": None}}
    assert stat.S_IMODE(os.stat(state.path).st_mode) == 0o600
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_default_path_sits_next_to_the_socket():
    """The same command line (same socket) finds the same state file."""
    assert default_path("/run/godpy/godpy.sock") == "/run/godpy/godpy.state"
    assert default_path("/tmp/x/ctl") == "/tmp/x/ctl.state"


def test_missing_file_is_an_empty_start(tmp_path):
    """No state file yet: nothing to carry on, no warning."""
    assert StateFile(str(tmp_path / "none")).read() == {}


def test_corrupt_file_is_ignored_with_a_warning(tmp_path, godlog):
    """Half a JSON document (a torn write by something else): ignored, logged."""
    path = tmp_path / "godpy.state"
    path.write_text('{"version": 1, "tasks": {"web": {"intent": "sto')
    os.chmod(path, 0o600)
    assert StateFile(str(path)).read() == {}
    assert "ignored: unreadable" in godlog.text


def test_other_version_is_ignored_with_a_warning(tmp_path, godlog):
    """A file from another godpy version is not guessed at."""
    path = tmp_path / "godpy.state"
    path.write_text(json.dumps({"version": VERSION + 1, "tasks": {}}))
    os.chmod(path, 0o600)
    assert StateFile(str(path)).read() == {}
    assert f"version {VERSION + 1}, not {VERSION}" in godlog.text


def test_file_others_could_write_is_ignored(tmp_path, godlog):
    """A state file group or others could write could name any process: ignored."""
    state = StateFile(str(tmp_path / "godpy.state"))
    state.write({"web": {"intent": "monitored"}})
    os.chmod(state.path, 0o666)
    assert state.read() == {}
    assert "not trusted" in godlog.text
