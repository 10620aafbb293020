"""Keepalive: the policy ``w.keepalive(...)`` declares, and the metrics it installs.

A process that is not running is started again in every monitored state; one that ran
``stable_after`` is restarted at once, quick deaths in a row back off (``Backoff``), and
``start_retries`` quick deaths end in ``failed``. Memory and CPU limits restart it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from godpy.backoff import Backoff
from godpy.condition import normalize_notify
from godpy.units import to_kilobytes, to_percent, to_seconds

#: Seconds between the ``process_running`` polls of ``up`` when exit events work: they only
#: catch an event that was lost (an overflow also makes every watch re-check at once), and
#: at 1,000 watches a 5 s poll alone cost 1 % of a core.
SAFETY_NET = 60.0


@dataclass
class Keepalive:
    """What ``w.keepalive(...)`` declared, in seconds, kilobytes and percent."""

    interval: float | None
    memory_max: float | None
    cpu_max: float | None
    memory_times: object
    cpu_times: object
    backoff: Backoff = field(repr=False, compare=False)
    notify: object = None


def declare(
    interval=None,
    memory_max=None,
    cpu_max=None,
    memory_times=(3, 5),
    cpu_times=(3, 5),
    restart_delay="100ms",
    restart_delay_max="30s",
    stable_after="10s",
    start_retries=None,
    notify=None,
) -> Keepalive:
    """Check and convert ``w.keepalive(...)``'s arguments (see ``Watch.keepalive``).

    Raises:
        ValueError: a bad value, with what would be right.
    """
    policy = Keepalive(
        interval=None if interval is None else to_seconds(interval),
        memory_max=None if memory_max is None else to_kilobytes(memory_max),
        cpu_max=None if cpu_max is None else to_percent(cpu_max),
        memory_times=memory_times,
        cpu_times=cpu_times,
        backoff=Backoff(
            to_seconds(restart_delay),
            to_seconds(restart_delay_max),
            to_seconds(stable_after),
            start_retries,
        ),
        notify=notify,
    )
    if notify is not None:
        normalize_notify(notify)
    if policy.interval is not None and policy.interval <= 0:
        raise ValueError("interval must be positive")
    if start_retries is not None and (
        not isinstance(start_retries, int) or isinstance(start_retries, bool) or start_retries < 1
    ):
        raise ValueError("start_retries must be a whole number >= 1 or None (retry for ever)")
    for name in ("restart_delay", "restart_delay_max", "stable_after"):
        if getattr(policy.backoff, name) < 0:
            raise ValueError(f"{name} must be >= 0")
    return policy


def install(watch, policy: Keepalive, events: bool) -> None:
    """Add keepalive's metrics to ``watch`` (when its block closes).

    Every monitored state reacts to a process that is not running: a start that did not
    come up goes back to start (with the backoff), never waits for ever. A state whose way
    to ``up`` the config declares itself (a readiness check) keeps it. With exit events,
    ``up`` also keeps a poll as a safety net (an event can be lost: overflow, pid change),
    every ``SAFETY_NET`` seconds unless ``interval`` is longer.
    """
    every = policy.interval or watch.interval or 5.0
    if watch.interval is None:  # the watch's other conditions check as often
        watch.interval = every
    ready = [s for s in ("start", "restart") if watch.metrics.get(s)]
    plain = ["init", *(s for s in ("start", "restart") if s not in ready)]
    with watch.transition(plain, {True: "up", False: "start"}) as on:
        on.condition("process_running", running=True, interval=every)
    if ready:
        with watch.transition(ready, "start") as on:
            on.condition("process_running", running=False, interval=every)
    with watch.start_if() as on:
        if events:
            on.condition("process_exits")
        # with exit events the poll only catches a lost event: it runs rarely (idle CPU),
        # and not on entering up, where process_running has just passed and process_exits
        # fires for a process already gone (a poll there cost every restart 0.15 ms)
        net = max(every, SAFETY_NET) if events else every
        on.condition(
            "process_running", running=False, interval=net, first_check=net if events else 0
        )
    if policy.memory_max is not None or policy.cpu_max is not None:
        with watch.restart_if() as on:
            if policy.memory_max is not None:
                on.condition(
                    "memory_usage",
                    above=policy.memory_max,
                    times=policy.memory_times,
                    interval=every,
                )
            if policy.cpu_max is not None:
                on.condition(
                    "cpu_usage", above=policy.cpu_max, times=policy.cpu_times, interval=every
                )
