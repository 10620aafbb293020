"""http_response_code: an HTTP endpoint answers (or not) with given status codes."""

from collections import deque

from godpy.condition import PollCondition, http_probe


def codes(value) -> set[int] | None:
    """``200``, ``"200"``, ``[500, "502"]`` or ``range(500, 600)`` -> a set of ints."""
    if value is None:
        return None
    items = [value] if isinstance(value, (int, str)) else list(value)
    return {int(item) for item in items}


class HttpResponseCode(PollCondition):
    """True when a GET answers with a status in ``code_is``, or not in ``code_is_not``.

    With ``code_is_not``, no answer at all (refused, reset, timed out) counts too: the
    usual "restart when not 200". With ``code_is``, only a real answer can count.

    Attributes:
        host: host name or address (default "127.0.0.1").
        port: port (default 80, or 443 with ``ssl``); port 443 means ``ssl``.
        path: path and query (default "/").
        headers: dict of request headers (default none).
        code_is: a status, a string or a list of them: trigger on these.
        code_is_not: trigger on any other status (exactly one of the two is required).
        timeout: seconds the whole request may take, connecting included (default 10;
            the check runs on the watch's driver, which waits no longer than this).
        ssl: use HTTPS (default False).
        ca_file: verify the server's certificate against this CA bundle (default: no
            verification, as in God).
        times: true ``x`` times in the last ``y`` checks, e.g. ``(3, 5)`` (default 1).

    Example:
        ``on.condition("http_response_code", port=8080, path="/health", code_is_not=200,
        times=(3, 5), timeout=2)``
    """

    host = "127.0.0.1"
    port = None
    path = "/"
    headers = None
    code_is = None
    code_is_not = None
    timeout = 10.0
    ssl = False
    ca_file = None
    units = {**PollCondition.units, "timeout": "seconds"}

    def __init__(self, **attrs):
        super().__init__(**attrs)
        self._seen: deque[str] = deque(maxlen=1)

    def valid(self) -> list[str]:
        """Exactly one of code_is / code_is_not, made of status codes; a sane timeout."""
        problems = super().valid()
        if (self.code_is is None) == (self.code_is_not is None):
            problems.append(f"{self.describe()}: set exactly one of 'code_is' and 'code_is_not'")
        for name in ("code_is", "code_is_not"):
            try:
                codes(getattr(self, name))
            except (TypeError, ValueError):
                problems.append(
                    f"{self.describe()}: {name} must be a status code or a list of them, "
                    f"got {getattr(self, name)!r}"
                )
        if not self.timeout or self.timeout <= 0:
            problems.append(f"{self.describe()}: timeout must be positive")
        return problems

    def prepare(self) -> None:
        """Keep as many readings as ``times`` looks at, for the log line."""
        super().prepare()
        self._seen = deque(maxlen=self._times[1])

    def request(self) -> int:
        """GET the page and return its status (the body is not read)."""
        tls = bool(self.ssl) or self.port == 443
        port = self.port or (443 if tls else 80)
        return http_probe.get(
            self.host,
            port,
            self.path,
            headers=self.headers,
            timeout=self.timeout,
            ssl=tls,
            ca_file=self.ca_file,
        )[0]

    def test(self) -> bool:
        """GET the page and compare its status."""
        try:
            status = self.request()
        except Exception as exc:  # refused, reset, timeout, TLS, malformed answer
            hit, seen = self.code_is_not is not None, type(exc).__name__
        else:
            if self.code_is is not None:
                hit = status in codes(self.code_is)
            else:
                hit = status not in codes(self.code_is_not)
            seen = str(status)
        self._seen.appendleft(("*" if hit else "") + seen)
        word = "abnormal" if hit else "nominal"
        self.info = f"http response {word} [{', '.join(self._seen)}]"
        return hit

    def reset(self) -> None:
        """Forget the readings too."""
        super().reset()
        self._seen.clear()
