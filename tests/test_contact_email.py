"""email contact: real delivery to a real SMTP server (aiosmtpd), plain, STARTTLS, SSL, sendmail."""

import ssl
import stat
import sys

import pytest
from contact_servers import SmtpServer, message, self_signed_cert
from godpy.contacts.email import Email

from godpy.contact import DeliveryError


def _email(**attrs):
    attrs = {"name": "tom", "to_email": "tom@example.com", "server_host": "127.0.0.1", **attrs}
    return Email(**attrs)


def test_smtp_delivers_headers_and_body():
    """A plain SMTP delivery: envelope, From/To/Subject/Date/Message-ID and the body fields."""
    with SmtpServer() as smtp:
        contact = _email(server_port=smtp.port, from_email="god@box1", to_name="Tom T")
        info = contact.notify(message(suppressed=3))
    assert info == "sent email to tom@example.com via smtp"
    [(mail_from, rcpt, mail)] = smtp.messages
    assert (mail_from, rcpt) == ("god@box1", ["tom@example.com"])
    assert mail["From"] == "godpy process monitoring <god@box1>"
    assert mail["To"] == "Tom T <tom@example.com>"
    assert mail["Subject"] == (
        "[godpy] web-8080 [trigger] process 4242 exited with code 1 (ProcessExits)"
        " (3 similar notifications suppressed)"
    )
    assert mail["Date"] and mail["Message-ID"].endswith(">")
    body = mail.get_content()
    for line in (
        "Message: web-8080 [trigger] process 4242 exited with code 1 (ProcessExits) "
        "(3 similar notifications suppressed)",
        "Watch: web-8080",
        "Group: web",
        "Host: box1",
        "Time: 2026-11-22T04:37:24+00:00",
        "Priority: 1",
        "Category: crash",
    ):
        assert line in body.splitlines()


def test_defaults_name_the_contact_and_the_host():
    """Without to_name and from_email, To uses the contact name and From godpy@<host>."""
    with SmtpServer() as smtp:
        _email(server_port=smtp.port, subject="{watch} on {host}: {category}").notify(message())
    [(mail_from, _rcpt, mail)] = smtp.messages
    assert mail_from == "godpy@box1"
    assert mail["To"] == "tom <tom@example.com>"
    assert mail["Subject"] == "web-8080 on box1: crash"


def test_server_rejection_raises():
    """A 554 from the server is a failed delivery (the notifier retries it)."""
    with SmtpServer(reply="554 no thanks") as smtp, pytest.raises(Exception, match="no thanks"):
        _email(server_port=smtp.port).notify(message())


def test_nothing_listening_raises_oserror():
    """A refused connection is an OSError (no traceback in the notifier's log)."""
    from contact_servers import free_port

    with pytest.raises(OSError):
        _email(server_port=free_port(), timeout=2).notify(message())


def _auth(users):
    from aiosmtpd.smtp import AuthResult

    def check(server, session, envelope, mechanism, auth_data):
        ok = users.get(auth_data.login.decode()) == auth_data.password.decode()
        return AuthResult(success=ok)

    return check


def test_starttls_and_login(tmp_path):
    """STARTTLS verified against server_ca_file, then LOGIN; the server requires both."""
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer(
        tls_context=context,
        require_starttls=True,
        authenticator=_auth({"godpy": "s3cret"}),
        auth_required=True,
        auth_require_tls=True,
    )
    with server as smtp:
        contact = _email(
            server_host="localhost",
            server_port=smtp.port,
            server_tls="starttls",
            server_ca_file=str(cert),
            server_auth="login",
            server_user="godpy",
            server_password="s3cret",
        )
        assert contact.valid() == []
        contact.notify(message())
        contact.server_auth = None
        with pytest.raises(OSError, match="(?i)auth"):
            contact.notify(message())
    assert len(smtp.messages) == 1


def test_starttls_refuses_an_unverified_certificate(tmp_path):
    """Without the CA file the self-signed certificate is refused: no silent downgrade."""
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with SmtpServer(tls_context=context) as smtp, pytest.raises(ssl.SSLError):
        _email(server_host="localhost", server_port=smtp.port, server_tls="starttls").notify(
            message()
        )
    assert smtp.messages == []


def test_implicit_ssl(tmp_path):
    """server_tls = "ssl": TLS from the first byte (port 465 style)."""
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with SmtpServer(ssl_context=context) as smtp:
        _email(
            server_host="localhost",
            server_port=smtp.port,
            server_tls="ssl",
            server_ca_file=str(cert),
        ).notify(message())
    assert len(smtp.messages) == 1


def _fake_sendmail(tmp_path, code=0):
    script = tmp_path / "sendmail"
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"open({str(tmp_path / 'argv')!r}, 'w').write(' '.join(sys.argv[1:]))\n"
        f"open({str(tmp_path / 'mail')!r}, 'wb').write(sys.stdin.buffer.read())\n"
        f"sys.stderr.write('queue is full')\nsys.exit({code})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_sendmail_gets_the_whole_message_on_stdin(tmp_path):
    """delivery_method = "sendmail" pipes the message to sendmail_path with sendmail_args."""
    contact = _email(delivery_method="sendmail", sendmail_path=str(_fake_sendmail(tmp_path)))
    assert contact.notify(message()) == "sent email to tom@example.com via sendmail"
    assert (tmp_path / "argv").read_text() == "-i -t"
    text = (tmp_path / "mail").read_text()
    assert "To: tom <tom@example.com>" in text
    assert "Watch: web-8080" in text


def test_sendmail_failure_raises_with_its_stderr(tmp_path):
    """A sendmail exiting non-zero fails the attempt, quoting what it said."""
    contact = _email(delivery_method="sendmail", sendmail_path=str(_fake_sendmail(tmp_path, 75)))
    with pytest.raises(DeliveryError, match="exited 75: queue is full"):
        contact.notify(message())


def test_valid_reports_bad_choices_and_missing_login():
    """Choices are checked and a login needs its user and password."""
    contact = _email(delivery_method="pigeon", server_tls="tls", server_auth="login")
    problems = contact.valid()
    assert "contact 'tom' (email): delivery_method must be one of 'smtp', 'sendmail'" in problems
    assert any("server_tls must be one of None, 'starttls', 'ssl'" in p for p in problems)
    assert "contact 'tom' (email): server_auth needs server_user and server_password" in problems
    assert Email().valid() == [
        "contact email: 'name' is required",
        "contact email: 'to_email' is required",
    ]
