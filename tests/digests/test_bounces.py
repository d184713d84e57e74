"""E8: DSN and ARF fixtures through `paperfeed digest bounces` (mbox, maildir, .eml)."""

from __future__ import annotations

import datetime as dt
import json
import mailbox
from pathlib import Path

import pytest

from paperfeed.digests import bounces, services, tokens
from paperfeed.digests.models import Bounce, Delivery, Digest, Subscriber
from tests.conftest import FIXTURES, paperfeed
from tests.digests.conftest import make_subscribers

pytestmark = pytest.mark.django_db

HERE = FIXTURES / "digests"


@pytest.fixture
def sent() -> tuple[Digest, list[Subscriber]]:
    """A digest sent to 1,000 readers, whose Message-IDs the fixtures quote."""
    digest = Digest.objects.create(frequency="daily", period=dt.date(2026, 11, 30), uid="f1x7ure")
    subs = make_subscribers(1000)
    Delivery.objects.bulk_create(
        Delivery(digest=digest, subscriber=s, status=Delivery.Status.SENT,
                 message_id=f"<digest.f1x7ure.{n}@papers.example.org>")
        for n, s in enumerate(subs, 1)
    )  # fmt: skip
    return digest, subs


def soft(day: dt.date, n: int) -> bytes:
    text = (HERE / "soft_bounce.eml").read_text()
    date = dt.datetime.combine(day, dt.time(7, n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return text.replace("{date}", date).replace("{mid}", f"dsn-{day}-{n}").encode()


def reload(s: Subscriber) -> Subscriber:
    s.refresh_from_db()
    return s


def test_hard_bounce_suppresses_at_once(sent: tuple[Digest, list[Subscriber]]) -> None:
    report = bounces.intake([HERE / "hard_bounce.eml"])
    assert (report.hard, report.suppressed) == (1, 1)
    reader1 = reload(sent[1][0])
    assert reader1.suppressed_at is not None and "5.1.1" in reader1.suppressed_reason
    assert Bounce.objects.get().delivery.message_id == "<digest.f1x7ure.1@papers.example.org>"
    again = bounces.intake([HERE / "hard_bounce.eml"])
    assert again.duplicates == 1 and Bounce.objects.count() == 1  # re-reading counts nothing twice


def test_soft_bounces_suppress_on_the_sixth_day_within_30(
    sent: tuple[Digest, list[Subscriber]], tmp_path: Path
) -> None:
    reader2 = sent[1][1]
    box = mailbox.mbox(str(tmp_path / "bounces.mbox"))
    start = dt.date(2026, 11, 2)
    for n in range(3):  # three on one day count once
        box.add(soft(start, n))
    for d in (3, 9, 15, 21):
        box.add(soft(start + dt.timedelta(days=d), 0))
    box.flush()
    report = bounces.intake([tmp_path / "bounces.mbox"])
    assert report.soft == 7 and report.suppressed == 0  # 5 distinct days
    assert reload(reader2).suppressed_at is None
    late = tmp_path / "late.eml"
    late.write_bytes(soft(start + dt.timedelta(days=40), 0))  # the 6th day, but the first is 40 days ago
    assert bounces.intake([late]).suppressed == 0
    sixth = tmp_path / "sixth.eml"
    sixth.write_bytes(soft(start + dt.timedelta(days=27), 0))
    assert bounces.intake([sixth]).suppressed == 1
    assert "6 days" in reload(reader2).suppressed_reason


def test_complaints_suppress_and_count_toward_the_digests_rate(
    sent: tuple[Digest, list[Subscriber]], tmp_path: Path
) -> None:
    digest, subs = sent
    report = bounces.intake([HERE / "complaint_arf.eml", HERE / "complaint_no_message_id.eml"])
    assert report.complaints == 2 and report.suppressed == 2
    assert reload(subs[2]).suppressed_at is not None  # matched by the quoted Message-ID
    assert reload(subs[3]).suppressed_at is not None  # matched by Original-Rcpt-To (case folded)
    # One complaint tied to this digest's 1,000 mails: 0.1 % -> an alert, not a hold.
    assert report.complaint_rates == {str(digest): 0.001}
    assert report.alerts and not Digest.objects.get().held_for_complaints
    # Two more complaints about the same digest reach 0.3 %: sending is held until resumed.
    maildir = mailbox.Maildir(str(tmp_path / "fbl"))
    arf = (HERE / "complaint_arf.eml").read_text()
    for n in (11, 12):  # the Message-IDs of subs[10] and subs[11]
        maildir.add(
            arf.replace("digest.f1x7ure.3@", f"digest.f1x7ure.{n}@").replace("arf-7f3c2a", f"arf-{n}")
        )
    held = bounces.intake([tmp_path / "fbl"])
    assert held.complaints == 2 and Digest.objects.get().held_for_complaints
    on_the_day = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    assert services.send(frequency="daily", period=dt.date(2026, 12, 1), now=on_the_day).held
    assert services.resume() == 1 and not Digest.objects.get().held_for_complaints


def test_mailto_unsubscribe_and_junk_are_handled(
    sent: tuple[Digest, list[Subscriber]], tmp_path: Path
) -> None:
    sub = sent[1][5]
    (tmp_path / "unsub.eml").write_text(
        f"From: {sub.email}\nTo: digests@papers.example.org\n"
        f"Subject: unsubscribe {tokens.make('unsubscribe', sub)}\n\n"
    )
    (tmp_path / "junk.eml").write_bytes(b"\x00\xff not a mail at all")
    (tmp_path / "forged.eml").write_text("From: x@y.org\nSubject: unsubscribe WzEsIm:forged\n\n")
    report = bounces.intake([tmp_path])
    # The junk file is no mail: skipped and named, not counted as a message that was no report.
    assert report.unsubscribes == 1 and report.unmatched == 1 and report.read == 2
    assert report.skipped == 1 and report.unreadable == [
        f"{tmp_path / 'junk.eml'}: binary data, not a mail message"
    ]
    assert reload(sub).status == Subscriber.Status.UNSUBSCRIBED
    again = bounces.intake([tmp_path / "unsub.eml"])  # the same mailbox read twice counts it once
    assert (again.unsubscribes, again.duplicates) == (0, 1)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "empty"),
        (b" \n\r\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data, not a mail message"),
        (
            b"just some notes\nabout nothing\n",
            "no mail header (From:, Date:, Subject: …): not a mail message",
        ),
        (b"From: a@b.org\nSubject: hello\n\nbody", ""),
        (b"Received: from mx\r\nX-Other: y\r\n\r\n\x00 binary bodies are fine", ""),
    ],
)
def test_what_is_not_a_mail_message(raw: bytes, why: str) -> None:
    assert bounces.unreadable(raw) == why


def unsubscribe_mail(sub: Subscriber, message_id: str | None) -> str:
    """What a mail client sends to the List-Unsubscribe mailto address."""
    head = f"Message-ID: {message_id}\n" if message_id else ""
    return (
        f"{head}From: {sub.email}\nTo: digests@papers.example.org\n"
        f"Subject: unsubscribe {tokens.make('unsubscribe', sub)}\n\n"
    )


@pytest.mark.parametrize("message_id", ["<u1@mail.example.org>", None])
def test_a_mailto_unsubscribe_read_again_after_subscribing_again_changes_nothing(
    tmp_path: Path, message_id: str | None
) -> None:
    (sub,) = make_subscribers(1)
    old = tmp_path / "old.eml"
    old.write_text(unsubscribe_mail(sub, message_id))
    assert bounces.intake([old]).unsubscribes == 1
    assert reload(sub).status == Subscriber.Status.UNSUBSCRIBED
    services.subscribe(sub.email)
    services.confirm(sub)
    assert reload(sub).status == Subscriber.Status.CONFIRMED
    again = bounces.intake([old])  # the mailbox scanned again: the old request was acted on already
    assert (again.unsubscribes, again.duplicates) == (0, 1)
    assert reload(sub).status == Subscriber.Status.CONFIRMED
    new = tmp_path / "new.eml"  # a request they send now is a new one
    new.write_text(unsubscribe_mail(sub, message_id and "<u2@mail.example.org>") + "\nplease\n")
    assert bounces.intake([old, new]).unsubscribes == 1
    assert reload(sub).status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.migrated
@pytest.mark.database
@pytest.mark.timeout(180)  # init and four CLI children: ~17 s idle, near 60 s on a slow day, run in parallel
def test_the_command(cli_env: dict[str, str], tmp_path: Path) -> None:
    paperfeed("subscribers", "add", "reader1@example.org", "--confirmed", env=cli_env)
    out = json.loads(
        paperfeed("digest", "bounces", str(HERE / "hard_bounce.eml"), "--json", env=cli_env).stdout
    )
    assert out["hard"] == 1 and out["suppressed"] == 1
    listed = json.loads(paperfeed("subscribers", "list", "--json", env=cli_env).stdout)["subscribers"]
    assert listed[0]["suppressed_reason"].startswith("hard bounce 5.1.1")
    missing = paperfeed("digest", "bounces", "/nonexistent/box", env=cli_env, check=False)
    assert missing.returncode != 0 and "no such file" in missing.stderr.strip().splitlines()[-1]
    # A file that is no mail read as "0 bounces" and exited 0: the wrong file looked like a quiet day.
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    run = paperfeed("digest", "bounces", str(empty), "--json", env=cli_env, check=False)
    assert run.returncode == 1 and json.loads(run.stdout)["skipped"] == 1
    assert run.stderr.splitlines()[-1] == (
        f"paperfeed: not a mail message paperfeed can read: {empty}: empty; nothing was recorded"
    )
    # A mailbox with a bad message among good ones: the good are read, the bad named and skipped.
    box = mailbox.mbox(str(tmp_path / "mbox"))
    box.add((HERE / "hard_bounce.eml").read_bytes())
    box.add(b"\x00\x01\x02 garbage")
    box.flush()
    mixed = paperfeed("digest", "bounces", str(tmp_path / "mbox"), env=cli_env)
    assert "read: 1\n" in mixed.stdout and "skipped: 1\n" in mixed.stdout
    assert f"skipped {tmp_path / 'mbox'}:1: binary data, not a mail message" in mixed.stdout
