"""The spare lends each watch's write ends for a start (``pidfd_getfd``), so godpy
holds none between starts; where it may not lend, godpy keeps them. Real keeper and
spare processes, real pipes, no daemon."""

import os
import subprocess

import pytest
from conftest import pipes_of, wait_until

from godpy.output import OutputKeeper

pytestmark = pytest.mark.integration


@pytest.fixture
def keeper(tmp_path):
    keeper = OutputKeeper(str(tmp_path / "k.sock"))
    assert keeper.start(None, 1)
    yield keeper
    keeper.close(stop=True)


def held_pipes():
    return pipes_of(os.getpid())


def tail(keeper, name):
    return keeper.tail(name, "out", 10, None)["text"]


def pipe_of(fd):
    return f"pipe:[{os.fstat(fd).st_ino}]"


def test_once_the_spare_holds_them_godpy_borrows_the_write_ends_for_each_start(keeper):
    channel = keeper.channel("app")
    channel.configure({})
    writers = channel.writers()
    pipe = pipe_of(writers[0])
    channel.spawned()

    def switched():  # the spare reads its message in its own time
        if pipe not in held_pipes():
            return True
        channel.writers()
        channel.spawned()
        return False

    wait_until(switched, what="godpy closing its own write ends")
    for n in range(3):
        writers = channel.writers()
        assert pipe_of(writers[0]) == pipe  # the same pipe, borrowed for this start
        child = subprocess.Popen(["echo", f"run {n}"], stdout=writers[0], stderr=writers[1])
        channel.spawned()
        child.wait()
        assert pipe not in held_pipes()
    wait_until(lambda: tail(keeper, "app").endswith("run 0\nrun 1\nrun 2\n"),
               what="every run's output at the keeper")  # fmt: skip


def test_where_the_spare_may_not_lend_godpy_keeps_its_write_ends(keeper):
    keeper._spare.lends = False  # as after a refused pidfd_getfd (EPERM)
    channel = keeper.channel("app")
    channel.configure({})
    first = channel.writers()
    channel.spawned()
    pipe = pipe_of(first[0])
    for n in range(3):
        writers = channel.writers()
        assert list(writers) == list(first)  # godpy's own, start after start
        child = subprocess.Popen(["echo", f"run {n}"], stdout=writers[0], stderr=writers[1])
        channel.spawned()
        child.wait()
        assert pipe in held_pipes()
    wait_until(lambda: tail(keeper, "app").endswith("run 2\n"), what="output at the keeper")
