"""Notifier: delivers notifications to contacts without ever blocking a driver.

A driver only calls ``notify``, which throttles and enqueues under a short lock. A few
worker threads take due jobs from a bounded queue and call ``Contact.notify``; a failed
attempt is retried later with exponential backoff, a bounded number of times. When the
queue is full the oldest job is dropped, with a log line counting the drops. At most one
attempt per contact is in flight, so a contact that hangs holds one worker, not all.
"""

from __future__ import annotations

import itertools
import logging
import socket
import subprocess
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime

from godpy.contact import Contact, DeliveryError
from godpy.log import get_logger, redact_urls

#: Failures that say something about the contact, not about its code: no traceback.
EXPECTED = (OSError, DeliveryError, subprocess.SubprocessError)


@dataclass(frozen=True)
class Policy:
    """How the notifier delivers.

    Attributes:
        workers: worker threads (default 2).
        queue_size: jobs waiting at most; beyond, the oldest is dropped (default 100).
        attempts: tries per notification, the first included (default 3).
        backoff: seconds before the first retry; doubled for each further one (default 2).
        backoff_max: the longest wait between two tries (default 60).
        interval: default ``notify_interval``: seconds between two messages for the same
            (watch, condition, contact); 0 turns throttling off (default 60).
    """

    workers: int = 2
    queue_size: int = 100
    attempts: int = 3
    backoff: float = 2.0
    backoff_max: float = 60.0
    interval: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.backoff * 2 ** (attempt - 1), self.backoff_max)


@dataclass
class Job:
    """One message for one contact, and how far its delivery got."""

    contact: Contact
    message: dict
    seq: int
    attempts: int
    due: float = 0.0
    tried: int = 0
    future: Future = field(default_factory=Future)


class Notifier:
    """The daemon's notification queue and its workers.

    Args:
        contacts: contact name -> Contact.
        policy: workers, queue bound, retries and throttling.
        clock: monotonic clock (injected by unit tests).
    """

    def __init__(self, contacts: dict[str, Contact], policy: Policy | None = None, clock=None):
        self.contacts = dict(contacts)
        self.policy = policy or Policy()
        self.clock = clock or time.monotonic
        self.host = socket.gethostname()
        self.dropped = 0
        self._jobs: list[Job] = []
        self._busy: set[str] = set()
        self._sent: dict[tuple, list] = {}  # throttle key -> [last sent at, suppressed since]
        self._seq = itertools.count()
        self._lock = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # -- set up --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker threads."""
        for n in range(self.policy.workers):
            thread = threading.Thread(target=self._work, name=f"notify-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def update(self, contacts: dict[str, Contact]) -> None:
        """Add or replace contacts (``godpy load``)."""
        with self._lock:
            self.contacts.update(contacts)

    def resolve(self, names) -> tuple[list[Contact], list[str]]:
        """The contacts that ``names`` (contact or group names) reach, and unknown names."""
        found: dict[str, Contact] = {}
        unknown = []
        for name in names:
            if name in self.contacts:
                found.setdefault(name, self.contacts[name])
                continue
            members = [c for c in self.contacts.values() if c.group == name]
            found.update((str(c.name), c) for c in members if c.name not in found)
            if not members:
                unknown.append(name)
        return list(found.values()), unknown

    # -- the driver side -----------------------------------------------------------------
    def notify(self, task, cond, names, message, priority=None, category=None) -> None:
        """Queue ``message`` for every contact ``names`` reaches; return at once.

        Called on the task's driver thread: it takes one short lock and never waits.
        ``cond`` is the condition (or behavior) that speaks; repeats from the same one to
        the same contact are throttled.
        """
        contacts, unknown = self.resolve(names)
        for name in unknown:
            self._log(logging.WARNING, task.name, "no matching contacts for '%s'", name)
        fields = {
            "watch": task.name,
            "group": task.group,
            "message": message,
            "time": datetime.now().astimezone().isoformat(timespec="seconds"),
            "priority": priority,
            "category": category,
            "host": self.host,
            "condition": None if cond is None else type(cond).__name__,
        }
        for contact in contacts:
            suppressed = self._throttle((task.name, id(cond), contact.name), contact)
            if suppressed is None:
                self._log(logging.DEBUG, task.name, "notification to '%s' throttled", contact.name)
                continue
            job_message = {**fields, "contact": contact.name, "suppressed": suppressed}
            self.put(contact, job_message, self.policy.attempts)

    def _throttle(self, key: tuple, contact: Contact) -> int | None:
        """None to suppress this one, else how many were suppressed before it."""
        interval = contact.notify_interval
        interval = self.policy.interval if interval is None else interval
        now = self.clock()
        with self._lock:
            entry = self._sent.get(key)
            if entry is not None and interval > 0 and now - entry[0] < interval:
                entry[1] += 1
                return None
            self._sent[key] = [now, 0]
            return entry[1] if entry is not None else 0

    def put(self, contact: Contact, message: dict, attempts: int) -> Job:
        """Queue one job (dropping the oldest when full) and wake a worker."""
        with self._lock:
            job = Job(contact, message, next(self._seq), attempts, due=self.clock())
            if self._stopping:
                job.future.set_exception(RuntimeError("godpy is stopping"))
                return job
            self._queue(job)
            self._lock.notify()
        return job

    def _queue(self, job: Job) -> None:
        """Add ``job`` (lock held); beyond ``queue_size``, drop the oldest waiting job."""
        self._jobs.append(job)
        while len(self._jobs) > self.policy.queue_size:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        oldest = min(self._jobs, key=lambda j: j.seq)
        self._jobs.remove(oldest)
        self.dropped += 1
        oldest.future.set_exception(DeliveryError("dropped: the notification queue was full"))
        get_logger().warning(
            "notification queue full (%d waiting): dropped the oldest, for '%s' about %s; "
            "%d dropped in all",
            self.policy.queue_size,
            oldest.contact.name,
            oldest.message.get("watch") or "a test",
            self.dropped,
        )

    # -- test messages (control threads) -------------------------------------------------
    def send_test(self, name: str, wait: float) -> dict[str, tuple[bool, str]]:
        """Send a test message to contact or group ``name``, once, and wait for the outcome.

        Returns:
            contact name -> (delivered, info or error).

        Raises:
            LookupError: no contact or group is called ``name``.
        """
        contacts, unknown = self.resolve([name])
        if unknown:
            from godpy.configurable import suggest

            known = set(self.contacts) | {c.group for c in self.contacts.values() if c.group}
            raise LookupError(f"no contact or group named '{name}'{suggest(name, known)}")
        message = {
            "watch": None,
            "group": None,
            "message": f"godpy test notification from {self.host}",
            "time": datetime.now().astimezone().isoformat(timespec="seconds"),
            "priority": None,
            "category": "test",
            "host": self.host,
            "condition": None,
            "suppressed": 0,
        }
        jobs = [self.put(c, {**message, "contact": c.name}, 1) for c in contacts]
        deadline = time.monotonic() + wait
        return {str(job.contact.name): self._outcome(job, deadline) for job in jobs}

    @staticmethod
    def _outcome(job: Job, deadline: float) -> tuple[bool, str]:
        try:
            return True, redact_urls(job.future.result(max(0.0, deadline - time.monotonic())))
        except FutureTimeout:
            return False, "no outcome yet (still queued or in flight)"
        except Exception as exc:
            return False, redact_urls(f"{type(exc).__name__}: {exc}")

    # -- workers -------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._take()
            if job is None:
                return
            try:
                self._attempt(job)
            finally:
                with self._lock:
                    self._busy.discard(str(job.contact.name))
                    self._lock.notify_all()

    def _take(self) -> Job | None:
        """The next due job of a contact not already in flight; None when stopping."""
        with self._lock:
            while True:
                now = self.clock()
                ready = [j for j in self._jobs if j.contact.name not in self._busy]
                due = [j for j in ready if j.due <= now or self._stopping]
                if due:
                    job = min(due, key=lambda j: (j.due, j.seq))
                    self._jobs.remove(job)
                    self._busy.add(str(job.contact.name))
                    return job
                if self._stopping:
                    return None
                wait = min((j.due for j in ready), default=now + 3600) - now
                self._lock.wait(max(0.001, min(wait, 60.0)))

    def _attempt(self, job: Job) -> None:
        job.tried += 1
        contact, watch = job.contact, job.message.get("watch")
        try:
            info = contact.notify(job.message)
        except Exception as exc:
            self._failed(job, exc)
            return
        text = info or f"notification sent for contact: {contact.name}"
        self._log(logging.INFO, watch, "notified '%s': %s (%s)", contact.name, text, _cls(contact))
        job.future.set_result(text)

    def _failed(self, job: Job, exc: Exception) -> None:
        contact, watch = job.contact, job.message.get("watch")
        again = job.tried < job.attempts and not self._stopping
        delay = self.policy.delay(job.tried)
        self._log(
            logging.WARNING if again else logging.ERROR,
            watch,
            "notification to '%s' failed (attempt %d of %d): %s; %s (%s)",
            contact.name,
            job.tried,
            job.attempts,
            f"{type(exc).__name__}: {exc}",
            f"retrying in {delay:g}s" if again else "giving up",
            _cls(contact),
            exc_info=not isinstance(exc, EXPECTED),
        )
        if not again:
            job.future.set_exception(exc)
            return
        with self._lock:
            job.due = self.clock() + delay
            self._queue(job)

    # -- shut down -----------------------------------------------------------------------
    def close(self, grace: float = 3.0) -> None:
        """Deliver what is queued for up to ``grace`` seconds (no more retries), then stop."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = len(self._jobs) + len(self._busy)
        if left:
            get_logger().warning("%d notification(s) not delivered: godpy is stopping", left)

    def pending(self) -> int:
        """Jobs waiting in the queue (in-flight attempts not counted)."""
        with self._lock:
            return len(self._jobs)

    @staticmethod
    def _log(level: int, watch: str | None, text: str, *args, exc_info=False) -> None:
        if watch is None:
            get_logger().log(level, text, *args, exc_info=exc_info)
        else:
            get_logger().log(
                level, f"{watch} {text}", *args, exc_info=exc_info, extra={"watch": watch}
            )


def _cls(contact: Contact) -> str:
    return type(contact).__name__
