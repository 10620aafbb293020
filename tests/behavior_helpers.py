"""Building a real watch with behaviors, outside a daemon, for the behavior tests."""

from godpy.process import Children
from godpy.watch import Watch


def make_watch(tmp_path, pids, start, behaviors=(), **attrs):
    """A built watch of ``start`` with ``behaviors`` [(name, attrs)], and its problems.

    Its actions run on the calling thread; started pids are killed at teardown.
    """
    w = Watch(name="app", start=start, **attrs)
    for kind, battrs in behaviors:
        w.behavior(kind, **battrs)
    w.build(str(tmp_path), Children())
    w.prepare()
    original = w._process.start

    def start_and_track():
        original()
        if w.pid:
            pids.add(w.pid)

    w._process.start = start_and_track
    return w
