"""slack: post each notification to a Slack (or Mattermost) incoming webhook."""

import json

from godpy.contact import Contact, http_post, summary, url_problems


class Slack(Contact):
    """Posts a formatted line to a Slack incoming webhook (God's slack contact).

    Sends JSON ``{"link_names": 1, "text": ..., "channel": ..., "username": ...,
    "icon_emoji": ...}``; unset ``channel``, ``username`` and ``emoji`` are left out, so
    the webhook's own settings apply. The webhook URL holds a token: the log shows only
    ``https://hooks.slack.com/services/…``.

    Attributes:
        url: the incoming webhook URL (required).
        channel: channel to post in, e.g. "#ops" (default: the webhook's own).
        notify_channel: prefix the text with ``<!channel>`` to alert everyone in it
            (default False).
        format: text template; ``{priority}``, ``{host}``, ``{message}``, ``{category}``,
            ``{time}``, ``{watch}``, ``{group}`` are filled in
            (default "{priority} alert on {host}: {message} ({category}, {time})").
        username: name shown as the poster (default: the webhook's own).
        emoji: icon, e.g. ":rotating_light:" (default: the webhook's own).
        timeout: seconds per attempt, connection and each read (default 10).

    Example:
        ``with God.contact("slack") as c: c.name = "ops-chat"; c.url =
        env("SLACK_WEBHOOK"); c.channel = "#ops"; c.emoji = ":rotating_light:"``
    """

    url = None
    channel = None
    notify_channel = False
    format = "{priority} alert on {host}: {message} ({category}, {time})"
    username = None
    emoji = None
    required = ("name", "url")

    def valid(self) -> list[str]:
        """Check the url scheme."""
        problems = super().valid() + url_problems(self)
        return problems

    def payload(self, message: dict) -> dict:
        """The JSON document posted for ``message``."""
        fields = {k: ("" if v is None else v) for k, v in message.items()}
        fields["priority"] = message.get("priority") or "normal"
        fields["category"] = message.get("category") or "godpy"
        fields["message"] = summary(message)
        text = self.format.format(**fields)
        data = {"link_names": 1, "text": f"<!channel> {text}" if self.notify_channel else text}
        extra = {"channel": self.channel, "username": self.username, "icon_emoji": self.emoji}
        data.update({k: v for k, v in extra.items() if v})
        return data

    def notify(self, message: dict) -> str:
        """Post the message; return the answer's status."""
        data = json.dumps(self.payload(message)).encode()
        status = http_post(str(self.url), data, {"Content-Type": "application/json"}, self.timeout)
        return f"sent slack message to {self.channel or 'the webhook channel'} (HTTP {status})"
