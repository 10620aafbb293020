"""A config is code run as root: a real `godpy -c ... -D` refuses files others could have
written (unless --insecure-config), imports no module planted next to the config, and runs
a sibling file only through God.load."""

import subprocess
import sys

import pytest
from cli_helpers import cli
from conftest import GODPY, GodpyRun, alive, wait_until

pytestmark = pytest.mark.system

HEAD = "from godpy import God\nGod.pid_file_directory = {pids!r}\n"
SLEEPER = (
    "with God.watch() as w:\n    w.name = {name!r}\n"
    '    w.start = "sleep 300"\n    w.keepalive(interval=30)\n'
)


def _run_daemon(config, *args):
    """``godpy -c config -D --no-events ARGS`` to its end (a refused config ends at once)."""
    return subprocess.run(
        [GODPY, "-c", str(config), "-D", "--no-events", *map(str, args)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def _write(path, text, mode=0o644):
    path.write_text(text)
    path.chmod(mode)
    return path


def test_group_writable_config_is_refused_with_exit_1_and_the_fix(tmp_path):
    """A config its group may write is refused before it runs: one line, path and fix."""
    marker = tmp_path / "ran"
    config = _write(tmp_path / "app.god.py", f"open({str(marker)!r}, 'w').close()\n", 0o664)
    out = _run_daemon(config)
    assert out.returncode == 1, out.stderr
    assert (
        f"godpy: {config}: refused: {config} is writable by its group (mode 0664); "
        f"fix: chmod go-w {config}, or pass --insecure-config\n"
    ) in out.stderr
    assert "nothing was started" in out.stderr and "Traceback" not in out.stderr
    assert not marker.exists(), "the refused config ran"


def test_insecure_config_runs_it_with_a_warning(tmp_path, pids):
    """--insecure-config starts the daemon anyway and warns, naming the path and the fix."""
    pid_dir = tmp_path / "pids"
    text = HEAD.format(pids=str(pid_dir)) + SLEEPER.format(name="sleeper")
    config = _write(tmp_path / "app.god.py", text, 0o664)
    run = GodpyRun(config, tmp_path / "godpy.log", "--no-events", "--insecure-config")
    pids.add(run.proc.pid)
    try:
        run.wait_log("godpy started with 1 task(s)")
        assert (
            f"WARN: {config}: loaded anyway (--insecure-config): {config} is writable by its "
            f"group (mode 0664); fix: chmod go-w {config}"
        ) in run.text()
        pids.add(wait_until(lambda: _pid(pid_dir / "sleeper.pid"), what="sleeper's pid"))
        assert cli("terminate", socket=run.socket).returncode == 0
        assert run.proc.wait(60) == 0
    finally:
        run.kill()


def _pid(path):
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def test_planted_smtplib_next_to_the_config_is_not_imported(tmp_path, godpy_run):
    """The config's folder is not on sys.path: `import smtplib` gets the standard library."""
    planted = tmp_path / "planted-ran"
    seen = tmp_path / "smtplib-file"
    _write(tmp_path / "smtplib.py", f"open({str(planted)!r}, 'w').close()\n")
    text = (
        HEAD.format(pids=str(tmp_path / "pids"))
        + f"import smtplib\nopen({str(seen)!r}, 'w').write(smtplib.__file__)\n"
    )
    run = godpy_run(text, "--no-events")
    run.wait_log("godpy started with 0 task(s)")
    assert run.terminate() == 0
    assert not planted.exists(), "a module planted next to the config ran in the daemon"
    assert seen.read_text().startswith(sys.base_prefix)


def test_god_load_runs_a_named_sibling_file(tmp_path, godpy_run, pids):
    """God.load("helpers.py") returns the sibling as a module; its watches join the config."""
    pid_dir = tmp_path / "pids"
    _write(
        tmp_path / "helpers.py",
        "from godpy import God\n\ndef keep(w):\n    w.keepalive(interval=30)\n\n"
        + SLEEPER.format(name="from-helpers"),
    )
    text = HEAD.format(pids=str(pid_dir)) + (
        'helpers = God.load("helpers.py")\nassert God.load("helpers.py") is helpers\n'
        'with God.watch() as w:\n    w.name = "main"\n    w.start = "sleep 300"\n'
        "    helpers.keep(w)\n"
    )
    run = godpy_run(text, "--no-events")
    run.wait_log("godpy started with 2 task(s)")
    for name in ("main", "from-helpers"):
        pids.add(wait_until(lambda n=name: _pid(pid_dir / f"{n}.pid"), what=f"{name}'s pid"))
    assert cli("terminate", socket=run.socket).returncode == 0
    assert run.proc.wait(60) == 0


def test_a_problem_in_a_loaded_file_names_that_file_and_line(tmp_path):
    """An error inside a God.load-ed file points at its own file:line."""
    _write(tmp_path / "helpers.py", "x = 1\nlimits = {}\nmax_mem = limits['web']\n")
    config = _write(
        tmp_path / "app.god.py",
        HEAD.format(pids=str(tmp_path / "pids")) + 'God.load("helpers.py")\n',
    )
    out = _run_daemon(config)
    assert out.returncode == 1
    assert f"godpy: {tmp_path / 'helpers.py'}:3: KeyError: 'web'\n" in out.stderr


def test_a_group_writable_sibling_is_refused_at_the_load_line(tmp_path):
    """God.load checks the sibling like the config; the error names the calling line."""
    helpers = _write(tmp_path / "helpers.py", "x = 1\n", 0o666)
    config = _write(
        tmp_path / "app.god.py",
        HEAD.format(pids=str(tmp_path / "pids")) + 'God.load("helpers.py")\n',
    )
    out = _run_daemon(config)
    assert out.returncode == 1
    assert (
        f"godpy: {config}:3: {helpers}: refused: {helpers} is writable by its group and "
        f"others (mode 0666); fix: chmod go-w {helpers}, or pass --insecure-config\n"
    ) in out.stderr


def test_a_plugin_folder_others_can_write_is_refused(tmp_path):
    """God.load_plugins(dir) refuses a folder its group may add files to."""
    plugins = tmp_path / "plugins"
    plugins.mkdir(mode=0o770)
    plugins.chmod(0o770)
    config = _write(
        tmp_path / "app.god.py",
        HEAD.format(pids=str(tmp_path / "pids")) + 'God.load_plugins("plugins")\n',
    )
    out = _run_daemon(config)
    assert out.returncode == 1
    assert (
        f"godpy: {config}:3: {plugins}: refused: {plugins} is writable by its group "
        f"(mode 0770); fix: chmod go-w {plugins}, or pass --insecure-config\n"
    ) in out.stderr


def test_godpy_load_refuses_a_writable_file_unless_insecure_config(tmp_path, godpy_run, pids):
    """`godpy load FILE` applies the rule in the daemon; --insecure-config loads with a
    warning on the CLI's stderr."""
    pid_dir = tmp_path / "pids"
    run = godpy_run(HEAD.format(pids=str(pid_dir)), "--no-events")
    run.wait_log("godpy started with 0 task(s)")
    extra = _write(
        tmp_path / "extra.god.py", HEAD.format(pids=str(pid_dir)) + SLEEPER.format(name="x"), 0o646
    )
    refused = cli("load", extra, socket=run.socket)
    assert refused.returncode == 1
    assert (
        f"godpy: {extra}: refused: {extra} is writable by others (mode 0646); "
        f"fix: chmod go-w {extra}, or pass --insecure-config\n"
    ) in refused.stderr
    loaded = cli("load", extra, "--insecure-config", socket=run.socket)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stderr == (
        f"godpy: warning: {extra}: loaded anyway (--insecure-config): {extra} is writable by "
        f"others (mode 0646); fix: chmod go-w {extra}\n"
    )
    pids.add(wait_until(lambda: _pid(pid_dir / "x.pid"), what="x's pid"))
    assert cli("terminate", socket=run.socket).returncode == 0
    assert run.proc.wait(60) == 0


def test_background_launch_with_insecure_config_warns_on_the_terminal(tmp_path, pids):
    """In background mode the launcher prints the warning on stderr and exits 0."""
    config = _write(tmp_path / "app.god.py", HEAD.format(pids=str(tmp_path / "pids")), 0o660)
    pid_file, sock = tmp_path / "godpy.pid", tmp_path / "s.sock"
    argv = [GODPY, "-c", config, "-l", tmp_path / "log", "-P", pid_file, "--socket", sock]
    out = subprocess.run(
        [str(a) for a in [*argv, "--no-events", "--insecure-config"]],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    pid = _pid(pid_file)
    pids.add(pid)
    assert out.stderr == (
        f"godpy: warning: {config}: loaded anyway (--insecure-config): {config} is writable "
        f"by its group (mode 0660); fix: chmod go-w {config}\n"
    )
    assert out.stdout.startswith(f"godpy started (pid {pid})")
    assert cli("terminate", socket=sock).returncode == 0
    wait_until(lambda: not alive(pid), 30, what=f"daemon {pid} gone")
