"""The installed package: a real wheel in a clean venv, the editable install's metadata."""

import configparser
import importlib.metadata
import keyword
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PLUGIN_FOLDERS = ("conditions", "behaviors", "contacts")
BIN = pathlib.Path(sys.executable).parent
REQUIRED = {"psutil", "pyroute2", "pyro5", "click", "prometheus-client"}
# Copying the tree keeps the build from writing build/ into the checkout, and from
# reusing a stale build/lib that still holds deleted modules.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "*_cache", "__pycache__", "build", "dist", "*.egg-info", "tests", "bench"
)


def run(*argv, cwd=None, timeout=120):
    """Run ``argv``; fail showing its output when it exits non-zero."""
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def plugin_modules(folder):
    """Module names of the plugin files in a top-level plugin folder."""
    return {p.stem for p in (ROOT / folder).glob("*.py") if p.stem != "__init__"}


def config_name(module):
    """The name users write for a plugin module (``lambda_`` is ``lambda``)."""
    stripped = module.removesuffix("_")
    return stripped if keyword.iskeyword(stripped) else module


def wheel_entry_points(wheel):
    """The entry_points.txt of a wheel, parsed."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser(delimiters=("=",))
        parser.optionxform = str
        parser.read_string(zf.read(name).decode())
    return parser


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the source tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, tmp / "src", ignore=NOT_SOURCE)
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation"]
    run(*build, "--outdir", tmp / "dist", tmp / "src")
    (found,) = (tmp / "dist").glob("godpy-*.whl")
    return found


@pytest.mark.slow
def test_wheel_holds_py_typed_and_only_godpy_packages(wheel):
    """The wheel ships godpy/py.typed and no top-level conditions/behaviors/contacts."""
    with zipfile.ZipFile(wheel) as zf:
        tops = {name.split("/")[0] for name in zf.namelist()}
        assert "godpy/py.typed" in zf.namelist()
        for folder in PLUGIN_FOLDERS:
            assert f"godpy/{folder}/__init__.py" in zf.namelist()
    assert tops == {"godpy", f"godpy-{importlib.metadata.version('godpy')}.dist-info"}


@pytest.mark.slow
def test_wheel_declares_console_script_and_every_plugin(wheel):
    """The wheel's entry points: the godpy script and one entry per plugin module."""
    eps = wheel_entry_points(wheel)
    assert eps["console_scripts"]["godpy"] == "godpy.cli:main"
    for folder in PLUGIN_FOLDERS:
        group = dict(eps[f"godpy.{folder}"]) if eps.has_section(f"godpy.{folder}") else {}
        expected = {config_name(m): m for m in plugin_modules(folder)}
        assert set(group) == set(expected), folder
        for name, module in expected.items():
            assert group[name].split(":")[0] == f"godpy.{folder}.{module}"


LOAD_EVERY_PLUGIN = """
import importlib.metadata, sys
import godpy.conditions.process_running, godpy.behaviors, godpy.contacts
for group in ("godpy.conditions", "godpy.behaviors", "godpy.contacts"):
    for ep in importlib.metadata.entry_points(group=group):
        ep.load()
        print(group, ep.name)
"""


@pytest.mark.slow
def test_wheel_installs_into_clean_venv_and_loads_every_plugin(wheel, tmp_path):
    """In a clean venv the wheel installs with its dependencies and every plugin loads."""
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", wheel, timeout=300)
    out = run(python, "-c", LOAD_EVERY_PLUGIN, cwd=tmp_path)
    n_plugins = sum(len(plugin_modules(folder)) for folder in PLUGIN_FOLDERS)
    assert len(out.splitlines()) == n_plugins, out
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    site = pathlib.Path(purelib.strip())
    assert (site / "godpy" / "conditions" / "process_running.py").is_file()
    for folder in PLUGIN_FOLDERS:
        assert not (site / folder).exists(), f"top-level {folder}/ installed in {site}"
    assert run(venv / "bin" / "godpy", "--version", cwd=tmp_path).strip().endswith("0.1.0")


@pytest.mark.parametrize("folder", PLUGIN_FOLDERS)
def test_every_plugin_module_has_its_entry_point(folder):
    """Registered entry points match the plugin files exactly (reinstall after editing)."""
    eps = importlib.metadata.entry_points(group=f"godpy.{folder}")
    registered = {ep.name: ep.module for ep in eps}
    expected = {config_name(m): f"godpy.{folder}.{m}" for m in plugin_modules(folder)}
    assert registered == expected, "run `pip install -e .` after editing entry points"


@pytest.mark.parametrize("argv", [[str(BIN / "godpy")], [sys.executable, "-m", "godpy"]])
def test_version_from_script_and_module(argv, tmp_path):
    """`godpy --version` and `python -m godpy --version` print the installed version."""
    out = run(*argv, "--version", cwd=tmp_path)
    assert importlib.metadata.version("godpy") in out
    assert "godpy" in out


def test_metadata_requires_runtime_dependencies():
    """The installed metadata requires psutil, pyroute2, Pyro5, click and prometheus-client."""
    reqs = importlib.metadata.requires("godpy") or []
    runtime = [r for r in reqs if "extra ==" not in r]
    names = {re.match(r"[A-Za-z0-9._-]+", r).group(0).lower() for r in runtime}
    assert names >= REQUIRED, runtime


def test_version_matches_metadata():
    """godpy.version.__version__ is the version in setup.cfg's metadata."""
    from godpy.version import __version__

    assert __version__ == importlib.metadata.version("godpy")


def test_every_internal_module_is_banned_in_plugin_folders():
    """ruff's TID251 list names every godpy module but the plugin API, so a built-in
    plugin could live in a third-party package unchanged."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    with open(ROOT / "pyproject.toml", "rb") as fh:
        banned = tomllib.load(fh)["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-api"]
    modules = {
        f"godpy.{name[:-3]}"
        for name in (p.name for p in (ROOT / "godpy").glob("*.py"))
        if not name.startswith("__")
    }
    api = {"godpy.condition", "godpy.behavior", "godpy.contact"}
    assert set(banned) == modules - api


def test_no_module_imports_itself_through_others():
    """godpy's modules form layers: no import circle, counting imports inside functions."""
    import ast

    names = {p.stem for p in (ROOT / "godpy").glob("*.py")}
    deps = {}
    for name in names:
        found = set()
        for node in ast.walk(ast.parse((ROOT / "godpy" / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("godpy"):
                parts = node.module.split(".")
                found |= {a.name for a in node.names} if len(parts) == 1 else {parts[1]}
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("godpy.")}
        deps[name] = found & names - {name}

    def back_to_itself(start):
        todo, seen = [start], set()
        while todo:
            for nxt in deps[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return start in seen

    circles = sorted(n for n in names if back_to_itself(n))
    assert circles == []
