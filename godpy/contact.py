"""Contact base for plugin authors: who is told when a condition with ``notify`` fires.

A contact is declared in a config with ``with God.contact("email") as c:``; the daemon's
notifier calls ``notify(message)`` on one of its worker threads, never on a driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from godpy.command_runner import CommandResult, argv_for, run_command  # noqa: F401 (plugin API)
from godpy.configurable import Configurable, snake_case
from godpy.errors import GodpyError
from godpy.log import redact_url, redact_urls  # noqa: F401 (plugin API: redact_url)

#: The fields of every message handed to ``Contact.notify``.
FIELDS = (
    "watch",
    "group",
    "message",
    "time",
    "priority",
    "category",
    "host",
    "condition",
    "contact",
    "suppressed",
)


class DeliveryError(GodpyError):
    """A contact could not deliver (the server refused, the command failed, ...)."""


class Contact(Configurable):
    """What every contact has.

    Subclasses implement ``notify(message)``: deliver, return a short info string for the
    log, or raise (any exception) to have the delivery retried.

    ``message`` is a dict with the keys of ``FIELDS``: ``watch``, ``group``, ``message``
    (the triggering log line), ``time`` (ISO 8601, local time with offset), ``priority``,
    ``category``, ``host``, ``condition`` (its class name), ``contact`` (this contact's
    name) and ``suppressed`` (repeats throttled since the previous message).

    Attributes:
        name: unique among contacts and groups; what ``notify`` names (required).
        group: a group name; ``notify`` naming the group reaches every member.
        timeout: seconds one delivery attempt may take (default 10).
        notify_interval: seconds between two messages for the same watch and condition;
            repeats in between are counted, not sent (default: ``God.notify_interval``,
            60; 0 sends every one).
    """

    kind = "contact"
    name: str | None = None
    group: str | None = None
    timeout: float = 10.0  # a string such as "30s" is converted when set
    notify_interval: float | None = None
    units = {"timeout": "seconds", "notify_interval": "seconds"}
    required: ClassVar[tuple[str, ...]] = ("name",)

    def __init__(self, **attrs):
        self._on_close: Callable | None = None
        self._closed = False
        super().__init__(**attrs)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self._on_close is not None:
            self._on_close(self)

    def describe(self) -> str:
        """Return how messages name this contact, e.g. ``contact 'tom' (email)``."""
        kind = getattr(self, "plugin_name", None) or snake_case(type(self).__name__)
        return f"contact '{self.name}' ({kind})" if self.name else f"contact {kind}"

    def valid(self) -> list[str]:
        """Check the common attributes; subclasses add their own problems."""
        problems = super().valid()
        if not isinstance(self.timeout, (int, float)) or self.timeout <= 0:
            problems.append(f"{self.describe()}: timeout must be a positive number of seconds")
        if self.notify_interval is not None and self.notify_interval < 0:
            problems.append(f"{self.describe()}: notify_interval must not be negative")
        return problems

    def notify(self, message: dict) -> str:
        """Deliver ``message``; return what was done (for the log).

        Raises:
            Exception: delivery failed; the notifier logs it and retries.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement notify()")


def summary(message: dict) -> str:
    """The message text, with the throttled repeats counted when there were any."""
    text = str(message.get("message") or "")
    count = message.get("suppressed") or 0
    if count:
        text += f" ({count} similar notification{'s' if count != 1 else ''} suppressed)"
    return text


def body(message: dict) -> str:
    """A plain-text body as God's email has it: one ``Field: value`` line each."""
    rows = [
        ("Message", summary(message)),
        ("Watch", message.get("watch")),
        ("Group", message.get("group")),
        ("Host", message.get("host")),
        ("Time", message.get("time")),
        ("Priority", message.get("priority")),
        ("Category", message.get("category")),
    ]
    return "".join(f"{label}: {value if value is not None else ''}\n" for label, value in rows)


def url_problems(contact: Contact) -> list[str]:
    """A problem when ``contact.url`` is set but is not an http(s) URL (for HTTP contacts)."""
    import urllib.parse

    url = getattr(contact, "url", None)
    if url is None:
        return []
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme not in ("http", "https"):
        return [f"{contact.describe()}: url must start with http:// or https://"]
    if "@" in parts.netloc:  # never echo it: the message names neither user nor password
        return [
            f"{contact.describe()}: url holds credentials (user:password@host), which are "
            "not sent; put them in headers={'Authorization': ...} instead"
        ]
    return []


def http_post(url: str, data: bytes, headers: dict, timeout: float) -> int:
    """POST ``data`` to ``url`` (for HTTP contacts); return the status.

    Errors name the URL redacted (``redact_url``): webhook tokens live in its path, query
    or userinfo, and an error ends up in the log.

    Raises:
        DeliveryError: the server answered with an error status, or the URL is malformed.
        OSError: no connection, or no answer within ``timeout`` seconds.
    """
    import http.client  # here, not at import: urllib is 30 ms of every daemon's start
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status
    except urllib.error.HTTPError as exc:
        text = scrub(exc.read(300).decode(errors="replace").strip(), url)
        raise DeliveryError(
            f"{redact_url(url)} answered HTTP {exc.code} {exc.reason}: {text}"
        ) from None
    except (ValueError, http.client.HTTPException) as exc:  # its text may quote the URL
        raise DeliveryError(f"{redact_url(url)}: malformed URL ({type(exc).__name__})") from None


def scrub(text: str, url: str) -> str:
    """``text`` (a server's answer, an error) with the secret parts of ``url`` hidden: a
    server may echo the path it was asked for."""
    scheme, _, rest = url.partition("://")
    main, _, query = rest.partition("?")
    userinfo, _, hostpath = main.rpartition("@")
    tail = hostpath.partition("/")[2].partition("/")[2]
    for secret in (userinfo, tail, query):
        if len(secret) >= 4:
            text = text.replace(secret, "…")
    return redact_urls(text)
