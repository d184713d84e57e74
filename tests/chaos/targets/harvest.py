"""H3: `paperfeed harvest` killed at random moments and at its failpoints (after a page's commit,
just before and just after the ingest transaction commits), against a fake arXiv serving 10,000
real records in 12 pages over 12 days; then run to completion.

Invariants: 10,000 distinct ids and 10,000 rows (0 duplicates, 0 missing); the checkpoint records
the finished window; SQLite's integrity_check says ok (and the FTS5 index, where there is one,
passes its own integrity-check).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from typing import Any

from tests.chaos.harness import chaos_env, kill_and_rerun

FAILPOINTS = ("harvest.after_page", "ingest.before_commit", "ingest.after_commit")
FIRST = dt.date(2026, 6, 1)
PAGES = 12

_CHECK = """
import django, json, os
os.environ['DJANGO_SETTINGS_MODULE'] = 'paperfeed.settings'
django.setup()
from django.db import connection
from django.db.models import Count
from paperfeed.papers.models import HarvestState, Paper
out = {
    'rows': Paper.objects.count(),
    'distinct': Paper.objects.values('arxiv_id').distinct().count(),
    'duplicates': Paper.objects.values('arxiv_id').annotate(n=Count('id')).filter(n__gt=1).count(),
    'states': [h.state for h in HarvestState.objects.all()],
}
if connection.vendor == 'sqlite':
    with connection.cursor() as cur:
        cur.execute('PRAGMA integrity_check')
        out['integrity_check'] = cur.fetchone()[0]
        cur.execute("SELECT name FROM sqlite_master WHERE name = 'papers_fts'")
        if cur.fetchone():
            cur.execute("INSERT INTO papers_fts(papers_fts) VALUES('integrity-check')")
            out['fts'] = 'ok'
print(json.dumps(out))
"""


def run_scenario(
    env: dict[str, str], kills: int, seed: int, records: int = 10_000, pages: int = PAGES
) -> dict[str, Any]:
    from tests.fakes.arxiv import FakeArxiv, kaggle_records, spread

    docs = kaggle_records(records)
    fake = FakeArxiv(spread(docs, FIRST, pages), page_size=-(-records // pages)).start()
    try:
        env = env | fake.env() | {"PAPERFEED_TIME_SCALE": "20", "PAPERFEED_HTTP_RETRIES": "8"}
        cli = [sys.executable, "-m", "paperfeed"]
        subprocess.run([*cli, "init"], env=env, check=True, capture_output=True)
        until = (FIRST + dt.timedelta(days=pages - 1)).isoformat()
        cmd = [*cli, "harvest", "--from", FIRST.isoformat(), "--until", until, "--json"]
        run = kill_and_rerun(
            cmd, env, kills=kills, seed=seed, max_delay=7.0, failpoints=FAILPOINTS, max_hit=pages
        )
        out = subprocess.run(
            [sys.executable, "-c", _CHECK], env=env, capture_output=True, text=True, check=True
        ).stdout
        found = json.loads(out)
        assert found["rows"] == records and found["distinct"] == records, found
        assert found["duplicates"] == 0, found
        assert found["states"] == [{"next_from": until}], found
        if "integrity_check" in found:
            assert found["integrity_check"] == "ok", found
        return {
            "records": records,
            "pages": pages,
            "kills": run.kills,
            "requests": len(fake.requests),
            "rounds": [r.__dict__ for r in run.rounds],
            "final": found | {"states": found["states"]},
        }
    finally:
        fake.stop()


def scenario(kills: int, seed: int, database: str) -> dict[str, Any]:
    with chaos_env(database) as env:
        os.environ.setdefault("PAPERFEED_HOME", env["PAPERFEED_HOME"])
        return run_scenario(env, kills, seed)
