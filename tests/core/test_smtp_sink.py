"""The SMTP sink the mail tests rely on: Django's real SMTP backend delivers to it."""

from django.core import mail

from tests.fakes.smtp import SmtpSink


def test_django_smtp_backend_delivers_to_the_sink(smtp_sink: SmtpSink) -> None:
    sent = mail.send_mail("Hello", "Body text", "from@example.org", ["To@Example.org"])
    assert sent == 1
    (got,) = smtp_sink.to("to@example.org")
    assert got.message["Subject"] == "Hello" and "Body text" in got.text()
    assert mail.outbox == []  # it went over the wire, not to the test outbox


def test_faults_per_recipient(smtp_sink: SmtpSink) -> None:
    smtp_sink.responder = lambda rcpt: "550 5.1.1 no such user" if rcpt.startswith("bad") else None
    mail.send_mail("Hi", "x", "from@example.org", ["good@example.org", "bad@example.org"])
    assert [r.rcpt for r in smtp_sink.received] == ["good@example.org"]
    assert smtp_sink.attempts == ["good@example.org", "bad@example.org"]
