"""Which periods a run may send (not one yet to begin; a weekend date names its week), and a run
against a mail server that is down: it stops at once, says so, and the next run finishes the job."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from paperfeed.core import clock
from paperfeed.digests import services
from paperfeed.digests.models import Delivery, Digest
from tests.digests.conftest import PERIOD, make_papers, make_subscribers
from tests.fakes.smtp import SilentServer, SmtpSink

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_sender")]

MONDAY = dt.date(2026, 11, 30)
TUESDAY = dt.date(2026, 12, 1)
SATURDAY = dt.date(2026, 11, 28)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def test_a_period_yet_to_begin_is_refused_and_nothing_is_recorded(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_subscribers(3)
    monkeypatch.setenv("PAPERFEED_NOW", at(MONDAY, 0, 4).isoformat())
    for freq in (["--frequency", "daily"], []):
        with pytest.raises(CommandError) as refused:
            call_command("digest", "send", "--period", TUESDAY.isoformat(), *freq)
        # Refused by the parser (on the command line: status 2, one line), before anything runs.
        assert str(refused.value) == (
            "Error: --period: the daily digest of 2026-12-01 cannot be sent before 2026-12-01 00:00 UTC "
            "(now 2026-11-30 00:04 UTC)"
        )
    with pytest.raises(services.BadPeriod):  # a dry run would only show everyone empty
        services.send("weekly", dt.date(2026, 12, 7), dry_run=True, now=at(MONDAY, 12))
    assert not Digest.objects.exists() and not Delivery.objects.exists()
    # On the day the paper arrives, and the digest goes out.
    make_papers(1, day=TUESDAY)
    report = services.send("daily", TUESDAY, now=at(TUESDAY, 8)).as_json()
    assert report["this_run"]["sent"] == 3 and len(smtp_sink.received) == 3


def test_a_named_period_sent_before_its_last_hour_stays_open(smtp_sink: SmtpSink) -> None:
    make_papers(1, day=PERIOD)
    make_subscribers(2, send_hour=20)
    digest = Digest.objects.filter(frequency="daily", period=PERIOD)
    early = services.send("daily", PERIOD, now=at(PERIOD, 10)).as_json()
    assert early["this_run"]["sent"] == 2 and not early["complete"]
    assert digest.get().status == Digest.Status.OPEN
    late = make_subscribers(1, prefix="late", send_hour=20)  # confirmed after the early run
    services.send("daily", now=at(PERIOD, 20, 5))
    assert digest.get().status == Digest.Status.OPEN  # hours 21-23 are still to come
    assert [r.rcpt for r in smtp_sink.received][2:] == [late[0].email]
    final = services.send("daily", now=at(PERIOD, 23, 5)).as_json()
    assert final["complete"] and digest.get().status == Digest.Status.COMPLETE
    assert Counter(r.rcpt for r in smtp_sink.received) == {
        "reader1@example.org": 1,
        "reader2@example.org": 1,
        "late1@example.org": 1,
    }


def test_a_weekend_date_sends_its_weeks_digest_unless_daily_is_asked_for(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    week = dt.date(2026, 11, 23)  # the Monday of SATURDAY's week
    make_papers(1, day=week)
    make_subscribers(1, frequency="weekly", prefix="weekly")
    make_subscribers(1, prefix="daily")
    monkeypatch.setenv("PAPERFEED_NOW", at(MONDAY, 9).isoformat())
    with pytest.raises(CommandError, match="daily digests go out on weekdays; 2026-11-28 is a Saturday"):
        call_command("digest", "send", "--period", SATURDAY.isoformat(), "--frequency", "daily")
    assert not Digest.objects.exists()
    capsys.readouterr()
    call_command("digest", "send", "--period", SATURDAY.isoformat(), "--json")
    report = json.loads(capsys.readouterr().out)
    assert [(d["frequency"], d["period"]) for d in report["digests"]] == [("weekly", "2026-11-23")]
    assert report["notes"] == [
        "no daily digest for 2026-11-28 (a Saturday): daily digests go out on weekdays"
    ]
    assert [r.rcpt for r in smtp_sink.received] == ["weekly1@example.org"]
    text = io.StringIO()
    call_command("digest", "send", "--period", SATURDAY.isoformat(), stdout=text)
    assert "note: no daily digest for 2026-11-28 (a Saturday)" in text.getvalue()


def test_resume_names_periods_as_send_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    held = {"held_for_complaints": True}
    Digest.objects.create(frequency="daily", period=dt.date(2026, 11, 25), **held)  # a Wednesday
    Digest.objects.create(frequency="weekly", period=dt.date(2026, 11, 23), **held)  # its week
    Digest.objects.create(frequency="daily", period=dt.date(2026, 11, 24), status=Digest.Status.PAUSED)
    monkeypatch.setenv("PAPERFEED_NOW", at(MONDAY, 0, 4).isoformat())
    # A period yet to begin has no digest to resume: it was exit status 0, "resumed: 0", where
    # `send` refuses the same date as an argument mistake.
    with pytest.raises(CommandError) as refused:
        call_command("digest", "resume", "--period", TUESDAY.isoformat())
    assert str(refused.value) == (
        "Error: --period: the daily digest of 2026-12-01 cannot be sent before 2026-12-01 00:00 UTC "
        "(now 2026-11-30 00:04 UTC); there is nothing to resume"
    )
    with pytest.raises(CommandError, match="daily digests go out on weekdays; 2026-11-28 is a Saturday"):
        call_command("digest", "resume", "--period", SATURDAY.isoformat(), "--frequency", "daily")
    assert Digest.objects.filter(held_for_complaints=True).count() == 2
    # The Wednesday names its daily digest and its week's weekly one (stored under the Monday).
    call_command("digest", "resume", "--period", "2026-11-25", "--json")
    assert json.loads(capsys.readouterr().out) == {"resumed": 2}
    assert not Digest.objects.filter(held_for_complaints=True).exists()
    assert Digest.objects.get(status=Digest.Status.PAUSED).period == dt.date(2026, 11, 24)
    call_command("digest", "resume", "--json")
    assert json.loads(capsys.readouterr().out) == {"resumed": 1}


@contextlib.contextmanager
def _refusing_port() -> Iterator[int]:
    """A port bound and not listening: connections to it are refused, and while it is held no other
    process can bind it and answer (as one could on a port closed again after choosing it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def test_a_mail_server_refusing_connections_stops_the_run_at_once_and_a_rerun_finishes(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    make_papers(1)
    make_subscribers(3)
    make_subscribers(1, frequency="weekly", prefix="weekly")
    with _refusing_port() as port:
        settings.MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
            }
        }
        with pytest.raises(CommandError, match=r"^mail server unreachable: .*; nothing lost, run again$"):
            call_command("digest", "send", "--period", PERIOD.isoformat())
    # One mail was tried (the others were not, nor the weekly digest), and it is not an attempt.
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.RETRY and row.attempts == 0 and "Refused" in row.last_error
    assert Digest.objects.get().status == Digest.Status.OPEN
    assert "reader1@example.org" in caplog.text
    sink = SmtpSink().start()
    settings.MAILERS = {"default": sink.mailer_settings()}
    caplog.clear()
    try:
        with caplog.at_level(logging.INFO, logger="paperfeed.progress"):
            report = services.send("daily", PERIOD).as_json()
    finally:
        sink.stop()
    assert report["complete"] and report["this_run"]["sent"] == 3 and not report["unreachable"]
    assert sorted(r.rcpt for r in sink.received) == [f"reader{i}@example.org" for i in (1, 2, 3)]
    (line,) = [r for r in caplog.records if r.name == "paperfeed.progress"]
    assert line.getMessage().startswith("daily digest of 2026-11-27: 3/3 mail")  # the retried one counts
    assert line.counts == {"sent": 3, "retried": 1}  # type: ignore[attr-defined]


def test_a_mail_server_that_never_answers_stops_the_run_and_a_rerun_sends_each_once(settings: Any) -> None:
    """A server that accepts TCP and never greets: two connections time out (not three mails times
    five attempts with backoff), the run stops with one line naming the server and the timeout, and
    the next run, against a working server, sends each mail once."""
    make_papers(1)
    make_subscribers(3)
    with SilentServer() as silent:
        settings.MAILERS = {"default": silent.mailer_settings(timeout=1)}
        with pytest.raises(CommandError) as stopped:
            call_command("digest", "send", "--frequency", "daily", "--period", PERIOD.isoformat())
    assert str(stopped.value) == (
        f"mail server unreachable: 127.0.0.1:{silent.port} did not answer within 1 s, 2 connections "
        "in a row; nothing lost, run again"
    )
    assert silent.connections == 2
    row = Delivery.objects.get()
    assert row.status == Delivery.Status.RETRY and row.attempts == 0
    sink = SmtpSink().start()
    settings.MAILERS = {"default": sink.mailer_settings()}
    try:
        report = services.send("daily", PERIOD).as_json()
    finally:
        sink.stop()
    assert report["complete"] and report["this_run"]["sent"] == 3
    assert sorted(r.rcpt for r in sink.received) == [f"reader{i}@example.org" for i in (1, 2, 3)]


def test_a_recipient_refused_by_a_working_server_does_not_stop_the_run(smtp_sink: SmtpSink) -> None:
    """The server answered: a 5xx is that message's own failure, handled per message."""
    make_papers(1)
    subs = make_subscribers(3)
    smtp_sink.responder = lambda rcpt: "550 5.1.1 no such user" if rcpt == subs[0].email else None
    report = services.send("daily", PERIOD).as_json()
    assert report["complete"] and not report["unreachable"]
    assert (report["this_run"]["sent"], report["this_run"]["failed"]) == (2, 1)


def test_a_new_run_tries_a_waiting_retry_first_without_waiting_out_its_backoff(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that paused leaves a mail waiting an hour's backoff; the run after the operator fixed
    the server tries it at once (first), rather than sending the rest and then sleeping."""
    monkeypatch.setenv("PAPERFEED_TIME_SCALE", "1000")  # had the run waited, the hour lasts 3.6 s
    # One sender, nobody to take its lease over: at 1000x the lease would last 0.3 s of real time
    # and the send deadline a quarter of it, less than a claim and send may take on a loaded machine
    # (an expired lease stops the run). A minute of real time for both.
    monkeypatch.setattr(services, "LEASE_TTL", 60.0 * 1000)
    monkeypatch.setattr(services, "SEND_DEADLINE", None)
    monkeypatch.setenv("PAPERFEED_DIGEST_RETRY_DELAY", "3600")
    monkeypatch.setenv("PAPERFEED_DIGEST_MAX_ERRORS", "1")
    make_papers(1)
    first, second = make_subscribers(2)
    smtp_sink.script(first.email, ["451 4.3.0 local problem"])
    paused = services.send("daily", PERIOD).as_json()
    assert paused["paused"] and smtp_sink.received == []
    assert Delivery.objects.get().attempts == 1
    again = services.send("daily", PERIOD).as_json()
    assert again["complete"] and again["sent"] == 2
    assert [r.rcpt for r in smtp_sink.received] == [first.email, second.email]
    assert Delivery.objects.get(subscriber=first).attempts == 1  # the retry still counted as one


def test_a_retry_is_logged_with_the_address_and_what_comes_next(
    smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAPERFEED_DIGEST_RETRY_DELAY", "60")
    # The sender's clock moves only when it sleeps. On a scaled real clock the 60 s backoff lasted
    # 60 ms, which a loaded machine could spend before the sender looked: the retry was then due at
    # once, went out without a wait, and "the next try in" was never logged.
    now = [clock.wall()]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(clock, "wall", lambda: now[0])
    monkeypatch.setattr(clock, "monotonic", lambda: now[0])
    monkeypatch.setattr(clock, "sleep", sleep)
    make_papers(1)
    (sub,) = make_subscribers(1)
    smtp_sink.script(sub.email, ["451 4.3.0 greylisted"])
    with caplog.at_level(logging.INFO):
        report = services.send("daily", PERIOD).as_json()
    assert report["sent"] == 1
    (retry,) = [r.getMessage() for r in caplog.records if "greylisted" in r.getMessage()]
    assert f"to {sub.email} (subscriber {sub.pk})" in retry
    assert "(attempt 1 of 5) -> retry, next in 60 s" in retry
    assert any("1 mail(s) to retry; the next try in" in r.getMessage() for r in caplog.records)
