"""Bounce and complaint intake: DSN (RFC 3464) and ARF (RFC 5965) reports, and mailto unsubscribes,
read from mbox files, maildirs or .eml files (`paperfeed digest bounces PATH…`).

Policy (RELIABILITY E8): a hard bounce or a complaint suppresses the address at once; soft bounces
suppress it on the 6th day with one within 30 days (one per day counts, as Mailman does); the
complaint rate of each digest is computed: an alert at >= 0.1 %, and at >= 0.3 % sending is held
until `paperfeed digest resume` (Gmail's figures). Re-reading the same mailbox counts nothing twice:
each report and each mailto unsubscribe is stored by the identity of its message.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import logging
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from paperfeed.digests import addresses, services, tokens
from paperfeed.digests.models import Bounce, Delivery, Digest, MailtoUnsubscribe, Subscriber

log = logging.getLogger(__name__)

SOFT_DAYS_TO_SUPPRESS = 6
SOFT_WINDOW = dt.timedelta(days=30)
COMPLAINT_ALERT = 0.001
COMPLAINT_PAUSE = 0.003
MAX_UNREADABLE_LISTED = 20


@dataclass
class Event:
    kind: str  # hard | soft | complaint | unsubscribe
    rcpt: str = ""
    status: str = ""
    message_id: str = ""  # of the original mail, when the report carries it
    token: str = ""  # unsubscribe token (mailto)
    day: dt.date | None = None
    detail: str = ""
    key: str = ""


def messages(paths: list[Path]) -> Iterator[tuple[str, bytes]]:
    """(where, raw bytes) of every message under the paths."""
    for path in paths:
        if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
            md = mailbox.Maildir(str(path), factory=None, create=False)
            for key in md.iterkeys():
                yield f"{path}:{key}", md.get_bytes(key)
        elif path.is_dir():
            for f in sorted(path.iterdir()):
                if f.is_file():
                    yield from messages([f])
        elif path.is_file():
            head = path.read_bytes()[:5]
            if head.startswith(b"From "):
                mb = mailbox.mbox(str(path), factory=None, create=False)
                for key in mb.iterkeys():
                    yield f"{path}:{key}", mb.get_bytes(key)
            else:
                yield str(path), path.read_bytes()
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")


# Header fields every mail carries at least one of (RFC 5322's origination and identification
# fields, MIME's, a relay's trace): a file with none is not a mail, whatever email.parser makes of it.
MAIL_FIELDS = frozenset(
    {"from", "to", "date", "subject", "message-id", "mime-version", "content-type", "received", "return-path"}
)


def unreadable(raw: bytes) -> str:
    """Why `raw` is not a mail message (empty, binary, or text without a mail's header); "" if it is one.
    The parser takes any bytes: such a file was read as a message that was no report, and counted."""
    if not raw.strip():
        return "empty"
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    if b"\x00" in head:
        return "binary data, not a mail message"
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not {k.lower() for k in msg} & MAIL_FIELDS:
        return "no mail header (From:, Date:, Subject: …): not a mail message"
    return ""


def _fields(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload: Any = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, Message)]
    text = payload if isinstance(payload, str) else ""
    return [
        email.message_from_string(b.strip() + "\n")
        for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
        if b.strip()
    ]


def _original(msg: Message) -> Message | None:
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner: Any = part.get_payload()
            return inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], Message) else None
        if ctype == "text/rfc822-headers":
            return email.message_from_string(str(part.get_payload(decode=False)))
    return None


def _day(msg: Message) -> dt.date | None:
    for name in ("Arrival-Date", "Date"):
        try:
            return parsedate_to_datetime(str(msg[name])).astimezone(dt.UTC).date() if msg[name] else None
        except (TypeError, ValueError):
            continue
    return None


def _addr(value: Any) -> str:
    text = str(value or "")
    if ";" in text:  # "rfc822; user@example.org"
        text = text.split(";", 1)[1]
    return parseaddr(text.strip())[1] or text.strip()


def parse(raw: bytes) -> list[Event]:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    ident = str(msg["Message-ID"] or "") or hashlib.sha256(raw).hexdigest()
    day = _day(msg)
    original = _original(msg)
    orig_id = str(original["Message-ID"] or "").strip() if original is not None else ""
    events: list[Event] = []
    if msg.get_content_type() == "multipart/report":
        report_type = str(msg.get_param("report-type") or "").lower()
        for part in msg.walk():
            ctype = part.get_content_type()
            if report_type == "delivery-status" and ctype == "message/delivery-status":
                blocks = _fields(part)
                per_message, recipients = (blocks[0], blocks[1:]) if len(blocks) > 1 else (Message(), blocks)
                day = day or _day(per_message)
                for r in recipients:
                    action = str(r["Action"] or "").strip().lower()
                    status = str(r["Status"] or "").strip().split(" ")[0]
                    rcpt = _addr(r["Final-Recipient"] or r["Original-Recipient"])
                    if action in ("delivered", "relayed", "expanded") or not rcpt:
                        continue
                    hard = action == "failed" and status.startswith("5")
                    detail = " ".join(str(r["Diagnostic-Code"] or "").split())
                    events.append(
                        Event("hard" if hard else "soft", rcpt, status, orig_id, day=day, detail=detail)
                    )
            elif report_type == "feedback-report" and ctype == "message/feedback-report":
                fields: dict[str, str] = {}
                for block in _fields(part):
                    fields.update({k.lower(): str(v) for k, v in block.items()})
                kind = fields.get("feedback-type", "abuse").strip().lower()
                rcpt = _addr(fields.get("original-rcpt-to") or fields.get("removal-recipient") or "")
                if not rcpt and original is not None:
                    rcpt = _addr(original["To"])
                events.append(
                    Event("complaint", rcpt, kind, orig_id, day=_day(msg), detail=f"feedback-type {kind}")
                )
    else:
        subject = " ".join(str(msg["Subject"] or "").split())
        m = re.match(r"(?i)^unsubscribe\s+(\S+)$", subject)
        if m:
            events.append(Event("unsubscribe", token=m.group(1), rcpt=_addr(msg["From"])))
    for i, ev in enumerate(events):
        ev.key = hashlib.sha256(f"{ident}|{ev.kind}|{ev.rcpt}|{i}".encode()).hexdigest()
    return events


@dataclass
class IntakeReport:
    read: int = 0
    hard: int = 0
    soft: int = 0
    complaints: int = 0
    unsubscribes: int = 0
    suppressed: int = 0
    duplicates: int = 0
    unmatched: int = 0
    not_reports: int = 0
    skipped: int = 0  # files or mailbox entries that are not mail messages (read counts only mails)
    unreadable: list[str] = field(default_factory=list)  # "where: why" of the first MAX_UNREADABLE_LISTED
    alerts: list[str] = field(default_factory=list)
    complaint_rates: dict[str, float] = field(default_factory=dict)


def _subscriber(ev: Event) -> tuple[Subscriber | None, Delivery | None]:
    delivery = None
    if ev.message_id:
        delivery = Delivery.objects.filter(message_id=ev.message_id).select_related("subscriber").first()
        if delivery is not None:
            return delivery.subscriber, delivery
    try:
        return Subscriber.objects.filter(email=addresses.normalise(ev.rcpt)).first(), None
    except addresses.InvalidAddress:
        return None, None


def apply(ev: Event, report: IntakeReport, touched: set[int]) -> None:
    if ev.kind == "unsubscribe":
        try:
            asker = tokens.read("unsubscribe", ev.token)
        except tokens.BadToken:
            report.unmatched += 1
            return
        # A message read before (the mailbox read again) is a duplicate by its key, not by the
        # subscriber's state: they may have subscribed again since.
        try:
            with transaction.atomic():
                MailtoUnsubscribe.objects.create(key=ev.key, subscriber=asker)
                changed = services.unsubscribe_changed(asker)
        except IntegrityError:
            report.duplicates += 1
            return
        if changed:
            report.unsubscribes += 1
        else:  # a new message, but they were unsubscribed already (twice asked, or by the link)
            report.duplicates += 1
        return
    sub, delivery = _subscriber(ev)
    if sub is None:
        report.unmatched += 1
        return
    day = ev.day or timezone.now().date()
    try:
        with transaction.atomic():
            Bounce.objects.create(
                key=ev.key,
                subscriber=sub,
                delivery=delivery,
                kind=ev.kind,
                day=day,
                status=ev.status[:20],
                detail=ev.detail[:500],
            )
    except IntegrityError:
        report.duplicates += 1
        return
    counter = "complaints" if ev.kind == "complaint" else ev.kind
    setattr(report, counter, getattr(report, counter) + 1)
    reason = ""
    if ev.kind == "hard":
        reason = f"hard bounce {ev.status} {ev.detail}".strip()
    elif ev.kind == "complaint":
        reason = f"complaint ({ev.status})"
        if delivery is not None:
            touched.add(delivery.digest_id)
    else:
        days = (
            Bounce.objects.filter(
                subscriber=sub, kind=Bounce.Kind.SOFT, day__gt=day - SOFT_WINDOW, day__lte=day
            )
            .values("day")
            .distinct()
            .count()
        )
        if days >= SOFT_DAYS_TO_SUPPRESS:
            reason = f"soft bounces on {days} days within 30 days"
    if reason and sub.suppressed_at is None:
        services.suppress(sub, reason)
        report.suppressed += 1


def complaint_rates(digest_ids: set[int], report: IntakeReport) -> None:
    for digest in Digest.objects.filter(pk__in=digest_ids):
        sent = Delivery.objects.filter(digest=digest, status=Delivery.Status.SENT).count()
        complaints = Bounce.objects.filter(delivery__digest=digest, kind=Bounce.Kind.COMPLAINT).count()
        rate = complaints / sent if sent else 1.0
        report.complaint_rates[str(digest)] = round(rate, 6)
        if rate >= COMPLAINT_PAUSE:
            why = f"complaint rate {rate:.2%} >= {COMPLAINT_PAUSE:.1%} ({complaints} of {sent})"
            Digest.objects.filter(pk=digest.pk).update(held_for_complaints=True, pause_reason=why)
            report.alerts.append(f"{digest}: {why}: sending is held")
        elif rate >= COMPLAINT_ALERT:
            report.alerts.append(
                f"{digest}: complaint rate {rate:.2%} >= {COMPLAINT_ALERT:.1%} ({complaints} of {sent})"
            )
    for alert in report.alerts:
        log.error("ALERT %s", alert, extra={"alert": "complaints"})


def intake(paths: list[Path]) -> IntakeReport:
    report = IntakeReport()
    touched: set[int] = set()
    for where, raw in messages(paths):
        if why := unreadable(raw):
            report.skipped += 1
            if len(report.unreadable) < MAX_UNREADABLE_LISTED:
                report.unreadable.append(f"{where}: {why}")
            continue
        report.read += 1
        events = parse(raw)
        if not events:
            report.not_reports += 1
        for ev in events:
            apply(ev, report, touched)
    complaint_rates(touched, report)
    return report


def as_json(report: IntakeReport) -> dict[str, Any]:
    return dict(vars(report))
