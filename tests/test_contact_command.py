"""command contact: a real program gets the message in its environment and on stdin."""

import json
import sys
import time

import pytest
from contact_servers import message
from godpy.contacts.command import Command

from godpy.contact import DeliveryError

DUMP = (
    "import json, os, sys\n"
    "env = {k: v for k, v in os.environ.items() if k.startswith(('GODPY_', 'EXTRA'))}\n"
    "seen = {'env': env, 'stdin': sys.stdin.read(), 'argv': sys.argv[1:]}\n"
    "json.dump(seen, open(sys.argv[1], 'w'))\n"
)


def _run(tmp_path, **attrs):
    out = tmp_path / "out.json"
    contact = Command(name="script", command=[sys.executable, "-c", DUMP, str(out)], **attrs)
    info = contact.notify(message(group=None, suppressed=4))
    return info, json.loads(out.read_text())


def test_environment_variables_and_text_stdin(tmp_path):
    """GODPY_* variables hold each field; stdin gets the Field: value lines; env is added."""
    info, seen = _run(tmp_path, env={"EXTRA": "yes"})
    assert info == f"ran {sys.executable} (exit 0)"
    env = seen["env"]
    assert env["GODPY_WATCH"] == "web-8080"
    assert env["GODPY_GROUP"] == ""
    assert env["GODPY_MESSAGE"] == message()["message"]
    assert env["GODPY_TIME"] == "2026-11-22T04:37:24+00:00"
    assert (env["GODPY_PRIORITY"], env["GODPY_CATEGORY"]) == ("1", "crash")
    assert (env["GODPY_HOST"], env["GODPY_CONDITION"]) == ("box1", "ProcessExits")
    assert (env["GODPY_CONTACT"], env["GODPY_SUPPRESSED"]) == ("ops", "4")
    assert env["EXTRA"] == "yes"
    assert "Watch: web-8080\n" in seen["stdin"]
    assert "(4 similar notifications suppressed)" in seen["stdin"]


def test_json_stdin(tmp_path):
    """stdin = "json": one JSON object with every field."""
    _info, seen = _run(tmp_path, stdin="json")
    doc = json.loads(seen["stdin"])
    assert doc == message(group=None, suppressed=4)


def test_string_command_is_split_like_a_shell(tmp_path):
    """A string command is split with shlex (quotes kept together), no shell involved."""
    out = tmp_path / "argv"
    script = f"import sys; open({str(out)!r}, 'w').write('|'.join(sys.argv[1:]))"
    Command(name="s", command=f"{sys.executable} -c \"{script}\" 'two words' \\$HOME").notify(
        message()
    )
    assert out.read_text() == "two words|$HOME"


def test_nonzero_exit_raises_with_stderr():
    """A failing program fails the attempt, quoting its stderr."""
    code = "import sys; sys.stderr.write('pager down'); sys.exit(3)"
    with pytest.raises(DeliveryError, match="exited 3: pager down"):
        Command(name="s", command=[sys.executable, "-c", code]).notify(message())


def test_timeout_kills_the_process_group(tmp_path):
    """A program running past timeout is killed with its children; the attempt fails."""
    pidfile = tmp_path / "child"
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="still running after 0.5s; killed"):
        Command(name="s", command=[sys.executable, "-c", code], timeout=0.5).notify(message())
    assert time.monotonic() - started < 30  # not stuck (the program sleeps 60 s)
    from conftest import alive, wait_until

    wait_until(lambda: not alive(int(pidfile.read_text())), timeout=5)


def test_valid_checks_stdin_and_env():
    """stdin must be text or json; env a dict; command required."""
    assert Command(name="s", command="x", stdin="xml", env="A=1").valid() == [
        "contact 's' (command): stdin must be 'text' or 'json'",
        "contact 's' (command): env must be a dict",
    ]
    assert Command(name="s").valid() == ["contact 's' (command): 'command' is required"]
