"""examples/plugin, a third-party package, installed beside godpy in a fresh venv."""

import shutil
import sys

import conftest
import pytest
from conftest import GodpyRun
from test_packaging import NOT_SOURCE, ROOT, run

CONFIG = """
import sys

from godpy import God

with God.watch() as w:
    w.name = "batch"
    w.start = [sys.executable, "-c", "import time; time.sleep(60)"]
    w.interval = 0.2
    w.keepalive()
    with w.restart_if() as on:
        on.condition("load_average", above=-1, minutes=5)
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh venv holding wheels of godpy and of examples/plugin, nothing else of ours."""
    tmp = tmp_path_factory.mktemp("plugin-venv")
    shutil.copytree(ROOT, tmp / "godpy-src", ignore=NOT_SOURCE)
    shutil.copytree(ROOT / "examples" / "plugin", tmp / "plugin-src", ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip"]
    wheels = tmp / "wheels"
    run(
        *pip,
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        wheels,
        tmp / "godpy-src",
        tmp / "plugin-src",
        timeout=300,
    )
    run(sys.executable, "-m", "venv", "--without-pip", tmp / "venv")
    python = tmp / "venv" / "bin" / "python"
    run(*pip, "--python", python, "install", "-q", *sorted(wheels.glob("*.whl")), timeout=300)
    return tmp / "venv"


@pytest.mark.slow
@pytest.mark.system
def test_installed_plugin_is_listed_with_its_distribution(venv, tmp_path):
    """`godpy conditions load_average` in the venv names the plugin's distribution."""
    out = run(venv / "bin" / "godpy", "conditions", "load_average", cwd=tmp_path)
    assert out.splitlines()[0] == (
        "load_average  [godpy-load-average 1.0.0 (godpy_load_average.load_average:LoadAverage)]"
    )
    assert "    minutes      1" in out


@pytest.mark.slow
@pytest.mark.system
def test_daemon_tests_the_installed_plugin_condition(venv, tmp_path, pids, monkeypatch):
    """A real daemon from the venv uses load_average by name: it triggers a restart."""
    config = tmp_path / "app.god.py"
    config.write_text(CONFIG)
    monkeypatch.setattr(conftest, "GODPY", str(venv / "bin" / "godpy"))
    daemon = GodpyRun(config, tmp_path / "godpy.log", socket=tmp_path / "ctl" / "s")
    pids.add(daemon.proc.pid)
    try:
        daemon.wait_log("batch [trigger] load average ", timeout=30)
        daemon.wait_log("> -1 (LoadAverage)")
        daemon.wait_log("batch move 'up' to 'restart'")
        assert daemon.terminate() == 0
    finally:
        daemon.kill()
