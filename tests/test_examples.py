"""Every examples/*.god.py loads without a config error (nothing is started)."""

import pathlib

import pytest

from godpy.config import load

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parent.parent / "examples").glob("*.god.py"))


POLLING_TOO = ("web.god.py", "workers.god.py", "flapping.god.py", "quickstart.god.py")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_loads(path):
    """The example is a valid config for a daemon with process-exit events (root)."""
    session = load(str(path), events=True)
    assert session.tasks, f"{path.name} defines no watch or task"


@pytest.mark.parametrize("name", POLLING_TOO)
def test_example_loads_without_events(name):
    """These examples also run as an ordinary user, polling instead of netlink."""
    assert load(str(EXAMPLES[0].parent / name), events=False).tasks


def test_every_family_has_an_example():
    """The web, worker-pool and flapping examples exist."""
    names = {p.name for p in EXAMPLES}
    assert {"web.god.py", "workers.god.py", "flapping.god.py"} <= names
