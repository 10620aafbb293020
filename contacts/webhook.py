"""webhook: POST each notification to a URL, as JSON or as a form."""

import json
import urllib.parse

from godpy.contact import FIELDS, Contact, http_post, redact_url, url_problems


class Webhook(Contact):
    """POSTs each notification to ``url`` (God's webhook contact, with headers).

    The body holds the message fields: ``watch``, ``group``, ``message``, ``time``,
    ``priority``, ``category``, ``host``, ``condition``, ``contact``, ``suppressed``.
    Any 2xx answer is success; anything else is retried. The log names the URL without
    its userinfo, query and path past the first segment (where tokens live).

    Attributes:
        url: where to POST, http or https (required).
        format: "json" (``application/json``) or "form"
            (``application/x-www-form-urlencoded``, God's default) (default "form").
        headers: extra request headers, e.g. ``{"Authorization": "Bearer x"}`` (default {}).
        timeout: seconds per attempt, connection and each read (default 10).

    Example:
        ``with God.contact("webhook") as c: c.name = "pager"; c.url =
        "https://alerts.example.com/hook"; c.format = "json"``
    """

    url = None
    format = "form"
    headers: dict | None = None
    required = ("name", "url")

    def valid(self) -> list[str]:
        """Check the url scheme, the format and the headers."""
        problems = super().valid() + url_problems(self)
        if self.format not in ("json", "form"):
            problems.append(f"{self.describe()}: format must be 'json' or 'form'")
        if self.headers is not None and not isinstance(self.headers, dict):
            problems.append(f"{self.describe()}: headers must be a dict")
        return problems

    def notify(self, message: dict) -> str:
        """POST the message; return the answer's status."""
        fields = {k: message.get(k) for k in FIELDS}
        if self.format == "json":
            data, kind = json.dumps(fields).encode(), "application/json"
        else:
            pairs = {k: "" if v is None else v for k, v in fields.items()}
            data, kind = urllib.parse.urlencode(pairs).encode(), "application/x-www-form-urlencoded"
        headers = {"Content-Type": kind, **(self.headers or {})}
        status = http_post(str(self.url), data, headers, self.timeout)
        return f"sent webhook to {redact_url(str(self.url))} (HTTP {status})"
