"""Against a live server: Hugging Face's own client reads us, and schemathesis fuzzes the OpenAPI
document (RELIABILITY S10: a bounded number of examples per operation in `make test`, its 100 with
PAPERFEED_LONG=1, which `make test-long` sets)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from paperfeed.accounts import services as accounts
from paperfeed.accounts import throttle
from paperfeed.feed import services
from tests.sitedata import load_papers, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# Examples per operation. Schemathesis's coverage phase calls every operation with the boundary
# values the document allows whatever this number is; the fuzzing phase adds this many random ones.
# 10 instead of 25: 802 requests instead of 1,146, 114 s instead of 141 s (load 15, 2026-11-30);
# most of the rest is that coverage phase.
EXAMPLES = "100" if os.environ.get("PAPERFEED_LONG") == "1" else "10"


def test_huggingface_hub_client(live_server) -> None:  # type: ignore[no-untyped-def]
    from huggingface_hub import HfApi

    papers = load_papers(5)
    curator = make_user("curator")
    today = timezone.localdate()
    for p in papers[:3]:
        services.submit(p.arxiv_id, curator, today)
    services.upvote(make_user("fan"), papers[1])
    api = HfApi(endpoint=live_server.url, token=False)
    daily = list(api.list_daily_papers(date=today.isoformat()))
    assert {d.id for d in daily} == {p.arxiv_id for p in papers[:3]}
    top = next(d for d in daily if d.id == papers[1].arxiv_id)
    assert top.title == papers[1].title and top.upvotes == 1 and top.submitted_by.username == "curator"  # type: ignore[union-attr]
    assert top.authors and top.authors[0].name == papers[1].authors[0]["name"]
    assert top.submitted_at is not None and top.published_at is not None
    trending = list(api.list_daily_papers(date=today.isoformat(), sort="trending", limit=2))
    assert len(trending) == 2
    info = api.paper_info(papers[0].arxiv_id)
    assert (
        info.id == papers[0].arxiv_id and info.title == papers[0].title and info.summary == papers[0].abstract
    )
    assert info.submitted_by is not None and info.submitted_by.username == "curator"
    found = list(api.list_papers(query=papers[2].title.split()[0]))
    assert papers[2].arxiv_id in {f.id for f in found}
    assert papers[0].title in api.read_paper(papers[0].arxiv_id)
    # A reader logged in to the Hub: the client sends that token to us too, and still reads.
    hub_reader = HfApi(endpoint=live_server.url, token="hf_" + "z" * 34)
    assert {d.id for d in hub_reader.list_daily_papers(date=today.isoformat())} == {d.id for d in daily}
    assert hub_reader.paper_info(papers[0].arxiv_id).id == papers[0].arxiv_id


# S13: schemathesis runs as a child making hundreds of requests (and the first for-you request loads
# the embedding model): over a minute on a loaded 2-core machine.
@pytest.mark.timeout(300)
def test_schemathesis_finds_no_server_error(live_server, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(throttle.LIMITS, "api:ip", throttle.Limit(100_000, 300))
    monkeypatch.setitem(throttle.LIMITS, "vote:user", throttle.Limit(100_000, 60))
    monkeypatch.setitem(throttle.LIMITS, "comment:user", throttle.Limit(100_000, 300))
    monkeypatch.setitem(throttle.LIMITS, "submit:user", throttle.Limit(100_000, 3600))
    papers = load_papers(5)
    for p in papers[:3]:
        services.submit(p.arxiv_id, None)
    token = accounts.create_api_token(make_user("fuzzer")).secret
    # The first recommendations request in a process builds the candidate matrix and loads the
    # embedding model (seconds on a loaded 2-core runner); --max-response-time is about the steady
    # state, so that one-time cost is paid before the fuzzing starts.
    warm = httpx.get(
        f"{live_server.url}/api/recommendations", headers={"Authorization": f"Bearer {token}"}, timeout=120
    )
    assert warm.status_code == 200
    st = Path(sys.executable).with_name("st")
    proc = subprocess.run(
        [
            str(st),
            "run",
            f"{live_server.url}/api/openapi.json",
            "--url",
            live_server.url,
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,"
            "content_type_conformance,response_headers_conformance",
            "--max-examples",
            EXAMPLES,
            "--seed",
            "1",
            "--max-response-time",
            "5",
            "--header",
            f"Authorization: Bearer {token}",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # its example cache goes there, not into the checkout
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    print(proc.stdout[-1200:])  # the summary, for -s
