"""H1 politeness and H2 503 / Retry-After (RELIABILITY.md §2b), measured at the fake server."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import subprocess
import sys
import time
from typing import Any

import pytest

from paperfeed.papers.sources.http import (
    MIN_REAL_TIMEOUT,
    ArxivBadURL,
    ArxivClient,
    ArxivUnavailable,
    backoff,
    parse_retry_after,
)
from tests.fakes.arxiv import FakeArxiv, spread
from tests.harvest.conftest import SCALE, cli_fake_env


def test_200_requests_over_all_three_endpoints_keep_the_gap_and_one_connection(
    fake: FakeArxiv, client: ArxivClient
) -> None:
    urls = [
        fake.oai + "?verb=ListRecords&metadataPrefix=arXiv",
        fake.url + "/api/query",
        fake.url + "/rss/atom/cs.CL",
    ]
    for i in range(200):
        client.get(urls[i % 3])
    # A request the loaded test machine served too slowly is retried: still polite, still counted.
    assert len(fake.requests) == 200 + client.stats.retries
    assert min(fake.gaps(SCALE)) >= 3.0
    assert fake.max_open == 1


# S13: two harvester children (and then an init child too) each booting Django: 63 s at load ~20
# with 4 busy loops beside it (the default 60 s ran out twice in a row there).
@pytest.mark.database
@pytest.mark.migrated  # the subject comes after the init
@pytest.mark.timeout(240)
def test_two_harvesters_started_together_share_the_limit(
    docs: list[dict[str, Any]], cli_env: dict[str, str]
) -> None:
    records = spread(docs[:120], dt.date(2026, 6, 25), 3, ["cs"]) + spread(
        docs[120:240], dt.date(2026, 6, 25), 3, ["math"]
    )
    fake = FakeArxiv(records, page_size=10).start()
    try:
        env = cli_fake_env(cli_env, fake)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "paperfeed", "harvest", "--set", s, "--from", "2026-06-25", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for s in ("cs", "math")
        ]
        outs = [p.communicate(timeout=200) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
        reports = [json.loads(o[0]) for o in outs]
        assert sorted(r["created"] for r in reports) == [120, 120]
        # 12 pages each; a page the loaded machine served too slowly is asked again, and counted.
        assert len(fake.requests) == 24 + sum(r["retries"] for r in reports)
        assert min(fake.gaps(SCALE)) >= 3.0
        assert fake.max_open == 1
    finally:
        fake.stop()


def test_retry_after_seconds_is_honoured(fake: FakeArxiv, client: ArxivClient) -> None:
    fake.faults.extend(["503:7"])
    client.get(fake.oai)
    assert len(fake.requests) == 2 and fake.gaps(SCALE)[0] >= 7.0
    assert client.stats.retries == 1


def test_retry_after_as_an_http_date_is_honoured(fake: FakeArxiv, client: ArxivClient) -> None:
    # HTTP dates are wall-clock; under the scaled clock the wait they ask for is read as scaled seconds.
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    fake.faults.extend([f"503:{when}"])
    client.get(fake.oai)
    assert fake.gaps(SCALE)[0] >= 18.0


def test_429_is_retried_like_503(fake: FakeArxiv, client: ArxivClient) -> None:
    fake.faults.extend(["429:5"])
    client.get(fake.url + "/api/query")
    assert fake.gaps(SCALE)[0] >= 5.0


def test_no_header_backs_off_exponentially(fake: FakeArxiv, client: ArxivClient) -> None:
    fake.faults.extend(["503:", "503:", "503:"])
    client.get(fake.oai)
    gaps = fake.gaps(SCALE)
    assert gaps[0] >= 3 and gaps[1] >= 6 and gaps[2] >= 12


def test_backoff_and_retry_after_are_bounded() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [3, 6, 12, 24]
    assert backoff(9) == 600 and backoff(50) == 600
    assert [parse_retry_after(v) for v in ("0", "-5", "abc", "86400", "7", " 12 ")] == [3, 3, 3, 3600, 7, 12]
    assert parse_retry_after(None) is None
    past = email.utils.formatdate(time.time() - 100, usegmt=True)
    assert parse_retry_after(past) == 3


def test_eight_consecutive_failures_give_up(fake: FakeArxiv, client: ArxivClient) -> None:
    fake.faults.extend(["503:3"] * 8)
    with pytest.raises(ArxivUnavailable, match="8 failed attempts"):
        client.get(fake.oai)
    assert len(fake.requests) == 8


def test_network_faults_are_retried_and_a_trickle_is_cut_off(
    fake: FakeArxiv, client: ArxivClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.faults.extend(["reset"])
    assert client.get(fake.oai).status == 200
    # A page sent a byte at a time (scaled: 5 s per byte, so hours for the page) is abandoned at the
    # overall timeout, which at this scale is its real-time floor.
    monkeypatch.setenv("PAPERFEED_HTTP_TIMEOUT", "60")
    slow = ArxivClient(client.limiter, attempts=1)
    fake.faults.extend(["trickle"])
    started = time.monotonic()
    with pytest.raises(ArxivUnavailable, match="within 60 s"):
        slow.get(fake.oai + "?verb=ListRecords&metadataPrefix=arXiv")
    assert time.monotonic() - started < MIN_REAL_TIMEOUT + 25  # not the whole page


def test_unreachable_arxiv_fails_cleanly(tmp_path: Any, scaled: float) -> None:
    from paperfeed.papers.sources.http import Limiter

    dead = ArxivClient(Limiter(tmp_path / "l"), attempts=2)
    with pytest.raises(ArxivUnavailable, match="gave up after 2"):
        dead.get("http://127.0.0.1:9/oai")


@pytest.mark.parametrize("url", ["oaipmh.arxiv.org/oai", "ftp://oaipmh.arxiv.org/oai"])
def test_a_url_no_request_can_be_made_to_fails_at_once(tmp_path: Any, scaled: float, url: str) -> None:
    # A PAPERFEED_OAI_ENDPOINT without http://: it was retried with backoff, for minutes.
    from paperfeed.papers.sources.http import Limiter

    client = ArxivClient(Limiter(tmp_path / "l"))
    with pytest.raises(ArxivBadURL, match=f"^{url}: not a usable URL"):
        client.get(url)
    assert client.stats.requests == 1 and client.stats.retries == 0


def test_a_stamp_from_another_clock_is_ignored_not_slept_on(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paperfeed.core import clock
    from paperfeed.papers.sources.http import Limiter

    now = clock.wall()
    lock = tmp_path / "arxiv.lock"
    lock.write_text(json.dumps({"next": now * 1000}))
    # A clock that stands still and sleeps that are only noted: what the limiter waits and writes,
    # exactly, not how long a busy machine took over it.
    slept: list[float] = []
    monkeypatch.setattr(clock, "wall", lambda: now)
    monkeypatch.setattr(clock, "sleep", slept.append)
    limiter = Limiter(lock, delay=3)
    with limiter.slot():
        pass
    assert slept == []
    assert json.loads(lock.read_text())["next"] == now + 3  # the foreign stamp is gone too
    limiter.defer(5)
    assert json.loads(lock.read_text())["next"] == now + 5
