"""The OAI-PMH harvester against the fake arXiv: resumption, checkpoints, token expiry (H4),
incremental runs (H5), malformed pages (H6) and the bad inputs of RELIABILITY.md §2c."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from paperfeed.papers.harvest import Harvester, HarvestError, state_name
from paperfeed.papers.models import Paper
from paperfeed.papers.services import state_get
from paperfeed.papers.sources.http import ArxivClient
from paperfeed.papers.sources.oai import OAIError, parse_page
from paperfeed.papers.sources.xml import MalformedXML
from tests.conftest import paperfeed
from tests.fakes.arxiv import FakeArxiv, OaiRecord
from tests.harvest.conftest import SCALE, cli_fake_env

FROM = dt.date(2026, 6, 25)


def harvester(fake: FakeArxiv, client: ArxivClient, set_spec: str | None = None) -> Harvester:
    return Harvester(fake.oai, set_spec, client)


# --- parsing the real recorded pages ----------------------------------------------------------------


def test_real_arxiv_pages_parse(shared_data: Path) -> None:
    oai = shared_data / "arxiv_protocol" / "oai_pmh"
    page = parse_page((oai / "paperhive_listrecords_arXiv_2015-01-01_2015-01-03.xml").read_bytes())
    assert [i.arxiv_id for i in page.items] == ["1412.8544", "hep-th/9504118"]
    rec = page.items[0].record
    assert rec and rec.doi == "10.4204/EPTCS.172.11" and rec.journal_ref == "EPTCS 172, 2014, pp. 154-164"
    assert [a.display for a in rec.authors] == ["Sander Uijlen", "Bas Westerbaan"]
    assert rec.published == dt.datetime(2014, 12, 29, tzinfo=dt.UTC) and page.token is None
    assert page.items[1].sets == ["physics:hep-th"] and page.items[1].record.report_no == "GOET-TP 101/95"  # type: ignore[union-attr]
    assert '"strength"' in page.items[1].record.abstract  # type: ignore[union-attr]
    for name in (
        "hepcrawl_listrecords_arXiv_set-physics-hep-ex_from-2017-12-14.xml",
        "hepcrawl_listrecords_arXiv_set-physics-hep-th_from-2017-12-14.xml",
        "hepcrawl_getrecord_arXiv_1401.2122.xml",
        "paperhive_getrecord_arXiv_1412.8544.xml",
    ):
        got = parse_page((oai / name).read_bytes())
        assert got.items and all(i.record and i.record.title for i in got.items), name
    # An oai_dc page: readable, with its real token, but no arXiv-format metadata to store.
    dc = parse_page(
        (oai / "atomiklabs_listrecords_oai_dc_set-cs_from-2024-01-25_with_resumptionToken.xml").read_bytes()
    )
    assert dc.token == "6960524|1001" and dc.complete_list_size == 1162
    assert dc.items and all(i.record is None and i.error for i in dc.items)


def test_broken_pages_are_errors_never_an_end_of_list(shared_data: Path) -> None:
    body = (
        shared_data / "arxiv_protocol/oai_pmh/paperhive_listrecords_arXiv_2015-01-01_2015-01-03.xml"
    ).read_bytes()
    for cut in (len(body) - 12, len(body) // 2, 200):
        with pytest.raises(MalformedXML):
            parse_page(body[:cut])
    html = (
        shared_data / "arxiv_protocol/oai_pmh/paperhive_listrecords_arXiv_2015-01-01_2015-01-03_http503.html"
    )
    for bad in (
        b"",
        b"   ",
        html.read_bytes(),
        body.replace(b"Kochen", b"Koch\xff\xfeen"),
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><x>&a;</x>',
    ):
        with pytest.raises(MalformedXML):
            parse_page(bad)
    err = body.replace(b"<ListRecords>", b'<error code="badArgument">bad from</error><ListRecords>')
    with pytest.raises(OAIError) as e:
        parse_page(err)
    assert e.value.code == "badArgument"


# --- harvesting ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_twelve_page_harvest_stores_everything_once(fake: FakeArxiv, client: ArxivClient) -> None:
    out = harvester(fake, client).run(FROM)
    assert (out["pages"], out["read"], out["created"]) == (12, 240, 240)
    assert Paper.objects.count() == 240
    # The checkpoint: the day of the server's responseDate, for a 1-day overlap next time.
    assert state_get(state_name(fake.oai, None)) == {"next_from": fake.today.isoformat()}
    again = harvester(fake, client).run(FROM)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 240)


@pytest.mark.django_db(transaction=True)
def test_expired_token_restarts_from_the_last_committed_day(fake: FakeArxiv, client: ArxivClient) -> None:
    fake.expire_tokens_at_page = 6  # H4
    out = harvester(fake, client).run(FROM)
    assert out["restarts"] == 1 and Paper.objects.count() == 240
    restart = next(r for r in fake.oai_requests()[6:] if "from" in r.query)
    # Pages 0-5 covered 120 records = 3 whole days (06-25..06-27): the restart asks from 06-27.
    assert restart.query["from"] == "2026-06-27"
    one_day_pages = 40 // fake.page_size
    assert len(fake.oai_requests()) - 1 - 12 <= one_day_pages


@pytest.mark.django_db(transaction=True)
def test_a_failed_run_keeps_the_checkpoint_at_the_last_whole_page(
    fake: FakeArxiv, client: ArxivClient
) -> None:
    # Three pages, then arXiv fails 8 times in a row (H2).
    h = harvester(fake, client)
    fake.faults.extend(["ok", "ok", "ok", *["503:3"] * 8])
    _ok_faults(fake)
    with pytest.raises(HarvestError, match="8 failed attempts"):
        h.run(FROM)
    assert Paper.objects.count() == 60
    run = state_get(state_name(fake.oai, None))["run"]
    assert run["from"] == FROM.isoformat() and run["token"]
    # The next run resumes from the stored token: no page is asked for twice.
    before = len(fake.oai_requests())
    out = harvester(fake, client).run()
    assert Paper.objects.count() == 240 and out["created"] == 180
    assert "resumptionToken" in fake.oai_requests()[before].query


def _ok_faults(fake: FakeArxiv) -> None:
    """'ok' entries in the fault queue mean 'answer normally'."""
    fake.faults = type(fake.faults)(None if f == "ok" else f for f in fake.faults)  # type: ignore[misc]


@pytest.mark.parametrize("fault", ["truncated", "badutf8", "html", "empty", "billion", "xxe"])
@pytest.mark.django_db(transaction=True)
def test_malformed_pages_fail_the_run_and_record_nothing(
    fault: str, fake: FakeArxiv, client: ArxivClient
) -> None:
    fake.faults.extend(["ok", fault, fault, fault])
    _ok_faults(fake)
    with pytest.raises(HarvestError, match="after 3 attempts"):
        harvester(fake, client).run(FROM)
    assert Paper.objects.count() == 20  # the first page only
    state = state_get(state_name(fake.oai, None))
    assert "next_from" not in state and state["run"]["resume_from"] == "2026-06-25"
    assert not Paper.objects.filter(title__contains="root:").exists()


@pytest.mark.django_db(transaction=True)
def test_one_malformed_page_is_asked_for_again(fake: FakeArxiv, client: ArxivClient) -> None:
    fake.faults.extend(["truncated", "html"])
    out = harvester(fake, client).run(FROM)
    assert out["created"] == 240 and out["retries"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_repeated_token_stops_the_run(fake: FakeArxiv, client: ArxivClient) -> None:
    fake.repeat_tokens = True
    with pytest.raises(HarvestError, match="same resumption token"):
        harvester(fake, client).run(FROM)
    # The first page gives a token; it comes back twice more (2 repeats), and the run stops.
    assert len(fake.oai_requests()) == 3


@pytest.mark.django_db(transaction=True)
def test_oai_errors(fake: FakeArxiv, client: ArxivClient) -> None:
    # noRecordsMatch: success with nothing to do.
    out = harvester(fake, client).run(dt.date(2030, 1, 1))
    assert (out["pages"], out["read"]) == (1, 0)
    assert state_get(state_name(fake.oai, None)) == {"next_from": fake.today.isoformat()}
    for code in ("badArgument", "cannotDisseminateFormat", "badResumptionToken"):
        fake.faults.append(f"oai:{code}")
        with pytest.raises(HarvestError, match=code):
            harvester(fake, client).run(FROM)
    assert Paper.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_incremental_day_two(docs: list[dict[str, Any]], fake: FakeArxiv, client: ArxivClient) -> None:
    """H5: 50 new, 30 changed, 5 deleted, 10 re-datestamped but unchanged, one paper in two sets."""
    from django.contrib.auth import get_user_model

    from paperfeed.feed.models import Vote

    harvester(fake, client).run(FROM)
    first_response = fake.today
    ids = sorted(fake.records)
    user = get_user_model().objects.create_user(username="reader", email="r@example.org", password="x" * 12)
    for aid in ids[:5]:
        Vote.objects.create(user=user, paper=Paper.objects.get(arxiv_id=aid))

    day2 = fake.today + dt.timedelta(days=1)
    fake.today = day2 + dt.timedelta(days=1)
    for aid in ids[:5]:
        fake.records[aid] = dataclasses.replace(fake.records[aid], deleted=True, datestamp=day2)
    for aid in ids[5:35]:
        r = fake.records[aid]
        doc = r.doc | {"abstract": r.doc["abstract"] + " (v2: corrected)", "_updated": day2.isoformat()}
        fake.records[aid] = OaiRecord(doc, day2, r.sets)
    for aid in ids[35:45]:
        fake.records[aid] = dataclasses.replace(fake.records[aid], datestamp=day2)
    fake.records[ids[45]] = dataclasses.replace(fake.records[ids[45]], datestamp=day2, sets=["cs", "math"])
    for doc in docs[300:350]:
        fake.records[doc["id"]] = OaiRecord(doc, day2, ["cs", "stat"])

    before = len(fake.oai_requests())
    out = harvester(fake, client).run()  # incremental: from the checkpoint
    first = fake.oai_requests()[before].query
    assert first["from"] == first_response.isoformat() and "until" not in first
    assert (out["created"], out["updated"], out["deleted"], out["unchanged"]) == (50, 30, 5, 11)
    assert Paper.objects.count() == 290
    gone = Paper.objects.filter(arxiv_id__in=ids[:5])
    assert {p.status for p in gone} == {Paper.Status.DELETED} and Vote.objects.count() == 5
    changed = Paper.objects.get(arxiv_id=ids[5])
    assert changed.abstract.endswith("(v2: corrected)") and changed.updated and changed.updated.date() == day2

    # The next day nothing changed: noRecordsMatch, exit 0, counts 0.
    fake.today += dt.timedelta(days=2)
    out = harvester(fake, client).run()
    assert out["read"] == 0 and out["created"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_new_version_with_another_title_gets_its_title_digest(fake: FakeArxiv, client: ArxivClient) -> None:
    from paperfeed.papers.titles import title_digest

    harvester(fake, client).run(FROM)
    aid = sorted(fake.records)[0]
    assert Paper.objects.get(arxiv_id=aid).title_digest == title_digest(fake.records[aid].doc["title"])
    day2 = fake.today + dt.timedelta(days=1)
    fake.today = day2 + dt.timedelta(days=1)
    r = fake.records[aid]
    fake.records[aid] = OaiRecord(
        r.doc | {"title": "A $\\beta$ title of v2", "_updated": day2.isoformat()}, day2, r.sets
    )
    assert harvester(fake, client).run()["updated"] == 1
    paper = Paper.objects.get(arxiv_id=aid)
    assert paper.title == "A $\\beta$ title of v2" and paper.title_digest == title_digest("A β title of v2")


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children: ~5-7 s quiet, 23 s at load 7
@pytest.mark.database
def test_the_command(fake: FakeArxiv, cli_env: dict[str, str]) -> None:
    env = cli_fake_env(cli_env, fake)
    fake.faults.extend(["503:1"])
    out = json.loads(
        paperfeed("harvest", "--from", "2026-06-25", "--until", "2026-06-27", "--json", env=env).stdout
    )
    assert {
        k: out[k] for k in ("pages", "read", "created", "updated", "unchanged", "deleted", "retries")
    } == {"pages": 6, "read": 120, "created": 120, "updated": 0, "unchanged": 0, "deleted": 0, "retries": 1}
    assert out["requests"] == 7
    # Incremental: from the stored day (until 06-27, a 1-day overlap) with no until.
    out = json.loads(paperfeed("harvest", "--json", env=env).stdout)
    assert out["first_request"] == {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2026-06-27"}
    assert out["created"] == 120 and out["unchanged"] == 40
    fake.faults.extend(["truncated"] * 3)
    failed = paperfeed("harvest", "--from", "2026-06-25", env=env, check=False)
    assert failed.returncode != 0 and "harvest failed" in failed.stderr and "Traceback" not in failed.stderr


@pytest.mark.migrated
@pytest.mark.database
def test_offline_is_a_clean_failure(cli_env: dict[str, str]) -> None:
    env = cli_env | {"PAPERFEED_TIME_SCALE": "1000", "PAPERFEED_HTTP_RETRIES": "2"}
    out = paperfeed("harvest", "--endpoint", "http://127.0.0.1:9/oai", "--set", "cs", env=env, check=False)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "harvest failed" in out.stderr and "gave up after 2" in out.stderr
    out = paperfeed(
        "fetch",
        "2501.00001",
        env=env | {"PAPERFEED_ARXIV_API": "http://no-such-host.invalid/api"},
        check=False,
    )
    assert out.returncode != 0 and "Traceback" not in out.stderr and "arXiv look-up failed" in out.stderr


@pytest.mark.django_db(transaction=True)
def test_announcements_record_first_announcement_dates(
    docs: list[dict[str, Any]], fake: FakeArxiv, client: ArxivClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperfeed.core.leases import LeaseLost
    from paperfeed.papers.harvest import record_announcements
    from paperfeed.papers.lookup import read_announcements

    harvester(fake, client).run(FROM)
    ids = sorted(fake.records)
    # OAI only knows the submission day: harvested papers carry an estimated announcement date.
    estimated = dict(Paper.objects.filter(arxiv_id__in=ids[:3]).values_list("arxiv_id", "announced"))
    assert all(estimated.values())
    late = {a: estimated[a] + dt.timedelta(days=1) for a in ids[:2]}  # submitted after the cut-off
    day = "2026-07-01"
    fake.announcements = [
        {"doc": fake.records[ids[0]].doc, "type": "new", "day": late[ids[0]].isoformat()},
        {"doc": fake.records[ids[1]].doc, "type": "cross", "day": late[ids[1]].isoformat()},
        {"doc": fake.records[ids[2]].doc, "type": "replace", "day": day, "version": 2},
        {"doc": docs[400], "type": "new", "day": day},  # not stored yet
    ]
    # monkeypatch puts back tests/settings.py's closed port: popping the variable sent later tests in
    # this process to the real arXiv.
    monkeypatch.setenv("PAPERFEED_ANNOUNCE_FEED", fake.env()["PAPERFEED_ANNOUNCE_FEED"])
    entries = read_announcements(["cs.CL", "cs.LG"], client)
    assert fake.requests[-1].path == "/rss/atom/cs.CL+cs.LG"
    assert [e.announce_type for e in entries] == ["new", "cross", "replace", "new"]

    def lost() -> None:
        raise LeaseLost("taken over")

    # Under a lease another harvest took meanwhile, the whole feed is rolled back.
    with pytest.raises(LeaseLost):
        record_announcements(entries, fence=lost)
    assert not Paper.objects.filter(arxiv_id=docs[400]["id"]).exists()
    assert dict(Paper.objects.filter(arxiv_id__in=ids[:3]).values_list("arxiv_id", "announced")) == estimated
    counts = record_announcements(entries)
    assert (counts["dated"], counts["created"], counts["unchanged"]) == (2, 1, 1)
    got = dict(
        Paper.objects.filter(arxiv_id__in=[*ids[:3], docs[400]["id"]]).values_list("arxiv_id", "announced")
    )
    # The feed's exact day corrects the estimates; a replacement says nothing about the first day.
    assert got[ids[0]] == late[ids[0]] and got[ids[1]] == late[ids[1]]
    assert got[docs[400]["id"]] == dt.date(2026, 7, 1) and got[ids[2]] == estimated[ids[2]]
    # Each paper's listings carry the corrected day (the "for you" list reads categories by it).
    from paperfeed.papers.models import PaperCategory
    from tests.papers.test_models import days_off_their_papers

    listed = set(PaperCategory.objects.filter(paper__arxiv_id=ids[0]).values_list("announced", flat=True))
    assert listed == {late[ids[0]]} and days_off_their_papers() == []
    # An empty feed (a weekend) changes nothing.
    fake.announcements = []
    assert record_announcements([])["read"] == 0


@pytest.mark.django_db(transaction=True)
def test_an_old_window_does_not_move_the_incremental_position_back(
    fake: FakeArxiv, client: ArxivClient
) -> None:
    harvester(fake, client).run(FROM)
    harvester(fake, client).run(FROM, dt.date(2026, 6, 26))
    assert state_get(state_name(fake.oai, None)) == {"next_from": fake.today.isoformat()}


@pytest.mark.migrated
@pytest.mark.timeout(120)  # three CLI children: 2.6 s at load 5, over 60 s at load 15
@pytest.mark.database
def test_a_second_harvest_exits_75_while_one_runs(cli_env: dict[str, str]) -> None:
    """RELIABILITY L10: a second `harvest` started while one runs exits at once with code 75."""
    import socket
    import subprocess
    import sys

    # Real time: the lease's 15-minute TTL must not run out while the second run starts.
    env = cli_env | {"PAPERFEED_HTTP_RETRIES": "1"}
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import django, os, sys, time; os.environ['DJANGO_SETTINGS_MODULE'] = 'paperfeed.settings'; "
            "django.setup(); from paperfeed.core import leases; "
            "from paperfeed.papers.harvest import state_name; "
            "held = leases.try_acquire('harvest:' + state_name('http://127.0.0.1:9/oai', None), 900); "
            "print('held' if held else 'busy', flush=True); "
            "sys.stdin.read()",
        ],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        second = paperfeed("harvest", "--endpoint", "http://127.0.0.1:9/oai", env=env, check=False)
        assert second.returncode == 75 and "already running" in second.stderr
        # Which process: the operator's next question (a stuck run, or the timer's?).
        assert f"(process {holder.pid} on {socket.gethostname()})" in second.stderr
    finally:
        holder.kill()
        holder.communicate()
    # The holder died without releasing: its lease is recognised as dead and the next run goes ahead
    # (and fails for its own reason: nothing listens at that endpoint).
    third = paperfeed("harvest", "--endpoint", "http://127.0.0.1:9/oai", env=env, check=False)
    assert third.returncode not in (0, 75) and "harvest failed" in third.stderr


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children and a 1 s (real) Retry-After
@pytest.mark.database
def test_a_retry_after_longer_than_the_lease_does_not_stop_the_harvest(
    fake: FakeArxiv, cli_env: dict[str, str]
) -> None:
    """arXiv asks for 1,000 s between two pages, longer than the harvest's 900 s lease: the heartbeat
    keeps the lease through the wait (tests/harvest/test_harvest_lease.py has another machine try to
    take it meanwhile), and the run finishes.

    In time ten times faster than the other harvest tests': the wait lasts 1 s of real time, not 10,
    and the lease 0.9 s; what is tested is only that the one is longer than the other."""
    env = cli_fake_env(cli_env, fake, PAPERFEED_TIME_SCALE=str(SCALE * 10))
    fake.faults.extend(["ok", "503:1000"])
    _ok_faults(fake)
    out = json.loads(
        paperfeed("harvest", "--from", "2026-06-25", "--until", "2026-06-27", "--json", env=env).stdout
    )
    assert (out["pages"], out["created"], out["retries"]) == (6, 120, 1)
