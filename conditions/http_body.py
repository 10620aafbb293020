"""http_body: an HTTP page whose body matches (or stops matching) a regular expression."""

import re

from godpy.condition import PollCondition, http_probe


class HttpBody(PollCondition):
    """True when the body of a GET matches ``matches``, or does not match ``not_matches``.

    The expression is searched (``re.search``) in the first ``max_bytes`` of the body,
    decoded as UTF-8. With ``not_matches``, no answer at all (refused, reset, timed out)
    counts too; with ``matches`` only a real answer can. The status code is not looked at:
    pair it with ``http_response_code`` for that.

    Attributes:
        host: host name or address (default "127.0.0.1").
        port: port (default 80, or 443 with ``ssl``).
        path: path and query (default "/").
        headers: dict of request headers (default none).
        matches: a regular expression: trigger when the body contains it.
        not_matches: trigger when the body does not contain it (exactly one of the two is
            required).
        max_bytes: how much of the body is read (default 1048576).
        timeout: seconds the whole request may take (default 10).
        ssl: use HTTPS (default False); ca_file: verify against this CA bundle.
        times: true ``x`` times in the last ``y`` checks (default 1).

    Example:
        ``on.condition("http_body", port=8080, path="/health", not_matches=r'"status":\\s*"ok"')``
    """

    host = "127.0.0.1"
    port = None
    path = "/"
    headers = None
    matches = None
    not_matches = None
    max_bytes = 1024 * 1024
    timeout = 10.0
    ssl = False
    ca_file = None
    units = {**PollCondition.units, "timeout": "seconds"}

    def valid(self) -> list[str]:
        """Exactly one expression, and it compiles; a positive timeout."""
        problems = super().valid()
        if (self.matches is None) == (self.not_matches is None):
            problems.append(f"{self.describe()}: set exactly one of 'matches' and 'not_matches'")
        for name in ("matches", "not_matches"):
            try:
                re.compile(getattr(self, name) or "")
            except (re.error, TypeError) as exc:
                problems.append(f"{self.describe()}: {name} is not a regular expression: {exc}")
        if not self.timeout or self.timeout <= 0:
            problems.append(f"{self.describe()}: timeout must be positive")
        return problems

    def test(self) -> bool:
        """GET the page and search its body."""
        pattern = self.matches if self.matches is not None else self.not_matches
        tls = bool(self.ssl) or self.port == 443
        try:
            status, body = http_probe.get(
                self.host,
                self.port or (443 if tls else 80),
                self.path,
                headers=self.headers,
                timeout=self.timeout,
                ssl=tls,
                ca_file=self.ca_file,
                limit=self.max_bytes,
            )
        except Exception as exc:  # refused, reset, timeout, TLS, malformed answer
            self.info = f"http body: no answer ({type(exc).__name__}: {exc})"
            return self.not_matches is not None
        found = re.search(pattern, body.decode("utf-8", "replace")) is not None
        hit = found if self.matches is not None else not found
        verb = "matches" if found else "does not match"
        self.info = f"http body {verb} {pattern!r} (status {status}, {len(body)} bytes)"
        return hit
