"""A generic task (no process): keep a file small.

When FILE grows above 15 bytes it is renamed to ARCHIVE; above 30 bytes it is deleted.
Paths come from the environment so the example can run anywhere:
`FILE=/tmp/x.txt ARCHIVE=/tmp/x.old godpy -c examples/file_watch.god.py -D`.
"""

import os

from godpy import God, env

path = env("FILE", default="/tmp/godpy-file-watch.txt")
archive = env("ARCHIVE", default=path + ".old")
every = env("INTERVAL", default=1.0, cast=float)

with God.task() as t:
    t.name = "file-watch"
    t.valid_states = ["watching", "archive", "delete"]
    t.initial_state = "watching"
    t.interval = every
    t.archive = lambda: os.replace(path, archive)
    t.delete = lambda: os.unlink(path)

    # Checked in this order each round: a big file is deleted, never archived.
    with t.transition("watching", "delete") as on:
        on.condition("file_size", path=path, above=30)
    with t.transition("watching", "archive") as on:
        on.condition("file_size", path=path, above=15, below=31)

    t.transition(["archive", "delete"], "watching")
