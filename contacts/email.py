"""email: send notifications by SMTP (plain, STARTTLS or SSL) or through sendmail."""

import email.utils
import smtplib
import ssl
import subprocess
from email.message import EmailMessage

from godpy.contact import Contact, DeliveryError, body, summary


class Email(Contact):
    """Sends an email for each notification (God's email contact, with TLS).

    Attributes:
        to_email: recipient address (required).
        to_name: recipient display name (default: the contact's name).
        from_email: sender address (default "godpy@<host>").
        from_name: sender display name (default "godpy process monitoring").
        subject: subject template; ``{message}``, ``{watch}``, ``{group}``, ``{host}``,
            ``{priority}``, ``{category}``, ``{time}`` are filled in
            (default "[godpy] {message}").
        delivery_method: "smtp" or "sendmail" (default "smtp").
        server_host: SMTP server (default "localhost").
        server_port: SMTP port (default 25; 465 is usual with "ssl", 587 with "starttls").
        server_tls: None (plain), "starttls" or "ssl" (default None).
        server_ca_file: CA bundle to verify the server with (default: the system's).
        server_auth: None, or "plain", "login" or "cram_md5" to log in (the server's best
            offered mechanism is used); needs ``server_user`` and ``server_password``.
        server_user: login user.
        server_password: login password.
        server_domain: the name godpy gives in EHLO (default: this host's FQDN).
        sendmail_path: the sendmail program (default "/usr/sbin/sendmail").
        sendmail_args: its arguments (default "-i -t").
        timeout: seconds per attempt, connection and each reply (default 10).

    Example:
        ``with God.contact("email") as c: c.name = "tom"; c.group = "developers";
        c.to_email = "tom@example.com"; c.server_host = "smtp.example.com";
        c.server_port = 587; c.server_tls = "starttls"; c.server_auth = "login";
        c.server_user = "godpy"; c.server_password = env("SMTP_PASSWORD")``
    """

    to_email = None
    to_name = None
    from_email = None
    from_name = "godpy process monitoring"
    subject = "[godpy] {message}"
    delivery_method = "smtp"
    server_host = "localhost"
    server_port = 25
    server_tls = None
    server_ca_file = None
    server_auth = None
    server_user = None
    server_password = None
    server_domain = None
    sendmail_path = "/usr/sbin/sendmail"
    sendmail_args = "-i -t"
    required = ("name", "to_email")

    def valid(self) -> list[str]:
        """Check the choices, and that a login has its user and password."""
        problems = super().valid()
        choices = {
            "delivery_method": ("smtp", "sendmail"),
            "server_tls": (None, "starttls", "ssl"),
            "server_auth": (None, "plain", "login", "cram_md5"),
        }
        for attr, allowed in choices.items():
            if getattr(self, attr) not in allowed:
                names = ", ".join(repr(a) for a in allowed)
                problems.append(f"{self.describe()}: {attr} must be one of {names}")
        if self.server_auth and (self.server_user is None or self.server_password is None):
            problems.append(f"{self.describe()}: server_auth needs server_user and server_password")
        return problems

    def compose(self, message: dict) -> EmailMessage:
        """Build the email for ``message``."""
        sender = self.from_email or f"godpy@{message.get('host') or 'localhost'}"
        fields = {k: ("" if v is None else v) for k, v in message.items()}
        fields["message"] = summary(message)
        mail = EmailMessage()
        mail["From"] = email.utils.formataddr((self.from_name, sender))
        mail["To"] = email.utils.formataddr((self.to_name or self.name, str(self.to_email)))
        mail["Subject"] = self.subject.format(**fields)
        mail["Date"] = email.utils.formatdate(localtime=True)
        mail["Message-ID"] = email.utils.make_msgid("godpy")
        mail.set_content(body(message))
        return mail

    def notify(self, message: dict) -> str:
        """Send the email; return where it went."""
        mail = self.compose(message)
        if self.delivery_method == "sendmail":
            self._sendmail(mail)
        else:
            self._smtp(mail)
        return f"sent email to {self.to_email} via {self.delivery_method}"

    def _smtp(self, mail: EmailMessage) -> None:
        context = ssl.create_default_context(cafile=self.server_ca_file)
        host, port, timeout = self.server_host, int(self.server_port), self.timeout
        smtp: smtplib.SMTP
        if self.server_tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                host, port, self.server_domain, timeout=timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(host, port, self.server_domain, timeout=timeout)
        with smtp:
            if self.server_tls == "starttls":
                smtp.starttls(context=context)
            if self.server_auth:
                smtp.login(self.server_user, self.server_password)
            smtp.send_message(mail)

    def _sendmail(self, mail: EmailMessage) -> None:
        argv = [self.sendmail_path, *str(self.sendmail_args).split()]
        done = subprocess.run(
            argv, input=mail.as_bytes(), capture_output=True, timeout=self.timeout, check=False
        )
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip()[-300:]
            raise DeliveryError(f"{self.sendmail_path} exited {done.returncode}: {err}")
