"""What an operator's walkthrough found, in-process against the fake arXiv: the bare (timer) harvest
continues the set harvested before, harvest and fetch agree on `published`, nonsense arguments are
refused before anything is sent, unreadable API and announcement-feed answers are retried aloud, and
the progress line counts pages."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from paperfeed.papers.harvest import Harvester, state_name
from paperfeed.papers.lookup import fetch, lookup_records
from paperfeed.papers.models import HarvestState, Paper
from paperfeed.papers.services import state_put
from paperfeed.papers.sources.http import ArxivClient
from tests.fakes.arxiv import FakeArxiv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pointed(fake: FakeArxiv, scaled: float, monkeypatch: pytest.MonkeyPatch) -> FakeArxiv:
    """The process's settings point at the fake arXiv, as the CLI's environment would."""
    for k, v in fake.env().items():
        monkeypatch.setenv(k, v)
    return fake


def harvest(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    call_command("harvest", *args, "--json")
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


# --- 1. a bare harvest continues the set harvested before -------------------------------------------


def test_a_bare_harvest_continues_the_one_set_harvested_before(
    pointed: FakeArxiv, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    harvest(capsys, "--set", "cs", "--from", "2026-06-25", "--until", "2026-06-27")
    with caplog.at_level(logging.INFO, logger="paperfeed.papers"):
        out = harvest(capsys)  # what the daily timer runs
    assert out["set"] == "cs"
    assert out["first_request"] == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "from": "2026-06-27",
        "set": "cs",
    }
    assert "continuing the harvest of set cs" in caplog.text
    # No second checkpoint for "all of arXiv from yesterday" was started.
    assert list(HarvestState.objects.values_list("name", flat=True)) == [state_name(pointed.oai, "cs")]


def test_several_checkpointed_sets_must_be_named(
    pointed: FakeArxiv, capsys: pytest.CaptureFixture[str]
) -> None:
    state_put(state_name(pointed.oai, "cs"), {"next_from": "2026-06-29"})
    state_put(state_name(pointed.oai, "math"), {"next_from": "2026-06-29"})
    state_put(state_name(pointed.oai, None), {"next_from": "2026-06-30"})
    state_put(state_name("http://elsewhere.invalid/oai", "physics"), {"next_from": "2026-06-30"})
    with pytest.raises(
        CommandError, match=r"several sets \(all, cs, math\): say which to continue with --set"
    ):
        call_command("harvest")
    assert pointed.requests == []
    out = harvest(capsys, "--set", "all")
    assert out["set"] is None and "set" not in out["first_request"]
    assert out["first_request"]["from"] == "2026-06-30"
    assert harvest(capsys, "--set", "math")["first_request"]["set"] == "math"


def test_with_no_checkpoint_a_bare_harvest_is_of_the_whole_archive(
    pointed: FakeArxiv, capsys: pytest.CaptureFixture[str]
) -> None:
    out = harvest(capsys, "--from", "2026-06-30")
    assert out["set"] is None and "set" not in out["first_request"]
    assert harvest(capsys)["first_request"]["from"] == "2026-07-02"  # that checkpoint, continued


# --- 2. a date-only <created> never replaces the API's time of the same day ---------------------------


def test_harvest_and_fetch_stop_overwriting_each_others_published(
    pointed: FakeArxiv, client: ArxivClient
) -> None:
    day = dt.date(2026, 6, 25)
    aid = sorted(i for i, r in pointed.records.items() if r.datestamp == day)[0]
    _, _, counts = fetch([aid], client)
    assert counts["created"] == 1
    precise = Paper.objects.get(arxiv_id=aid).published
    assert precise is not None and (precise.hour, precise.minute) == (12, 0)

    # The harvest adds what the API does not say (an announcement estimate), but keeps the time.
    out = Harvester(pointed.oai, None, client).run(day, day)
    assert out["read"] == 40 and out["created"] == 39 and out["updated"] == 1
    assert Paper.objects.get(arxiv_id=aid).published == precise

    _, _, counts = fetch([aid], client)
    assert (counts["updated"], counts["unchanged"]) == (0, 1)
    out = Harvester(pointed.oai, None, client).run(day, day)
    assert (out["updated"], out["unchanged"]) == (0, 40)
    assert Paper.objects.get(arxiv_id=aid).published == precise

    # Harvested first (midnight, from the date alone): the API's time is news once, then stays.
    other = sorted(i for i, r in pointed.records.items() if r.datestamp == day)[1]
    assert Paper.objects.get(arxiv_id=other).published.hour == 0  # type: ignore[union-attr]
    assert fetch([other], client)[2]["updated"] == 1
    assert Harvester(pointed.oai, None, client).run(day, day)["updated"] == 0
    assert Paper.objects.get(arxiv_id=other).published.hour == 12  # type: ignore[union-attr]


# --- 3. nonsense arguments are refused before anything is sent -----------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-oai"], "--no-oai skips the OAI harvest: name the --announcements"),
        (["--from", "2026-07-05", "--until", "2026-07-01"], "--until 2026-07-01 is before --from 2026-07-05"),
        (["--incremental", "--from", "2026-07-05"], "--incremental continues from the checkpoint"),
        (["--from", "2999-07-05"], r"--from 2999-07-05 is after today \(\d{4}-\d\d-\d\d\)"),
    ],
)
def test_nonsense_arguments_are_refused(pointed: FakeArxiv, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message) as e:
        call_command("harvest", *args)
    assert e.value.returncode == 2  # a usage mistake, as argparse's own (it was 1, as a failed harvest)
    assert pointed.requests == [] and not HarvestState.objects.exists()


def test_an_until_before_the_checkpoint_is_refused(pointed: FakeArxiv) -> None:
    state_put(state_name(pointed.oai, None), {"next_from": "2026-06-29"})
    with pytest.raises(
        CommandError, match=r"--until 2026-06-27 is before the day this harvest continues from"
    ):
        call_command("harvest", "--until", "2026-06-27")
    assert pointed.requests == []
    assert HarvestState.objects.get().state == {"next_from": "2026-06-29"}


# --- 4. an unreadable API answer is retried aloud --------------------------------------------------------


def test_fetch_logs_each_retry_of_an_unreadable_answer(
    pointed: FakeArxiv, client: ArxivClient, caplog: pytest.LogCaptureFixture
) -> None:
    aid = sorted(pointed.records)[0]
    pointed.faults.extend(["html", "truncated"])
    with caplog.at_level(logging.WARNING, logger="paperfeed.papers"):
        found, _ = lookup_records([aid], client)
    assert [r.arxiv_id for r in found] == [aid]
    retries = [r.getMessage() for r in caplog.records if "unreadable answer from arXiv" in r.getMessage()]
    assert len(retries) == 2, caplog.text
    assert retries[0].endswith("retrying in 3 s") and retries[1].endswith("retrying in 6 s")
    assert "HTML" in retries[0] or "html" in retries[0], retries[0]


def test_the_announcement_feed_is_asked_again_after_a_5xx_or_an_unreadable_answer(
    pointed: FakeArxiv, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    doc = next(iter(pointed.records.values())).doc
    pointed.announcements = [{"doc": doc, "type": "new", "day": "2026-07-01"}]
    pointed.faults.extend(["503:", "truncated", "html"])  # then the feed as arXiv serves it
    with caplog.at_level(logging.WARNING, logger="paperfeed.papers"):
        out = harvest(capsys, "--no-oai", "--announcements", "cs.CL")
    assert out["announcements"]["entries"] == 1 and out["announcements"]["created"] == 1
    assert Paper.objects.get(arxiv_id=doc["id"]).announced == dt.date(2026, 7, 1)
    assert len(pointed.requests) == 4 and {r.path for r in pointed.requests} == {"/rss/atom/cs.CL"}
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 3, caplog.text
    assert "HTTP 503" in retries[0] and "unreadable answer from arXiv" in retries[1]
    assert retries[1].endswith("retrying in 3 s") and retries[2].endswith("retrying in 6 s")
    # An answer that never parses fails the command with the reason, after the same three attempts.
    pointed.faults.extend(["truncated"] * 3)
    with pytest.raises(CommandError, match=r"announcement feed failed: .*\(after 3 attempts\)"):
        call_command("harvest", "--no-oai", "--announcements", "cs.CL")
    assert len(pointed.requests) == 4 + 3


# --- 5. the progress line ------------------------------------------------------------------------------


def test_the_progress_line_counts_pages(
    pointed: FakeArxiv, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="paperfeed.progress"):
        out = harvest(capsys, "--from", "2026-06-25", "--until", "2026-06-27")
    assert out["pages"] == 6
    lines = [r.getMessage() for r in caplog.records if r.name == "paperfeed.progress"]
    assert lines and lines[-1].startswith("harvest: 6 page(s) read=120"), lines
