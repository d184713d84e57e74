"""L3: SQLite under concurrent writers. Through the real server (gunicorn, several worker
processes, each a writer): vote toggles from 4 clients, readers, and an ingester committing
batches in a process of its own, all at once. No "database is locked" reaches anyone (0 HTTP 5xx,
the ingester finishes), every acknowledged toggle is in the database and nothing else is, a
paper's upvotes equal its vote rows, integrity_check is ok, the -wal file stays bounded, and every
connection is in WAL mode.

The normal run is small (4 x 150 toggles); PAPERFEED_LONG=1 runs RELIABILITY's 4 x 2,000."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.reliability.load import Load
from tests.reliability.support import REPO, Server, client, tool

pytestmark = [
    pytest.mark.database,
    pytest.mark.slow,
    pytest.mark.skipif(settings.IS_POSTGRES, reason="SQLite's single writer is what this tests"),
]

LONG = os.environ.get("PAPERFEED_LONG") == "1"
TOGGLES = 2000 if LONG else 150  # per voting client
VOTERS = 4
USERS_PER_VOTER = 70 if LONG else 8  # the per-user limit is 30 votes a minute
IPS_PER_VOTER = 12 if LONG else 3  # the per-address API limit is 300 per 5 minutes
WAL_LIMIT = 64 * 2**20


class Voter(threading.Thread):
    def __init__(self, n: int, base: str, users: list[list], papers: list[str]) -> None:  # type: ignore[type-arg]
        super().__init__()
        self.base, self.users, self.papers = base, users, papers
        self.rng = random.Random(n)
        self.ips = [f"127.0.7.{n * IPS_PER_VOTER + i + 1}" for i in range(IPS_PER_VOTER)]
        self.state: dict[tuple[int, str], bool] = {}  # acknowledged state of each (user, paper)
        self.failures: list[str] = []

    def run(self) -> None:
        clients = [client(ip, timeout=60) for ip in self.ips]
        try:
            for i in range(TOGGLES):
                uid, token = self.users[i % len(self.users)]
                paper = self.rng.choice(self.papers)
                on = not self.state.get((uid, paper), False)
                r = clients[i % len(clients)].request(
                    "POST" if on else "DELETE",
                    f"{self.base}/api/papers/{paper}/upvote",
                    headers={"Authorization": f"Bearer {token}"},
                )
                if r.status_code != 200:
                    self.failures.append(f"{r.status_code} {r.text[:300]}")
                    continue
                self.state[(uid, paper)] = on
        finally:
            for c in clients:
                c.close()


# S13: writer, harvester and reader processes for RELIABILITY L3: about a minute (the long
# form's 4 x 2,000 toggles many).
@pytest.mark.migrated
@pytest.mark.timeout(1800 if LONG else 300)
def test_concurrent_writers_on_sqlite(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, "PAPERFEED_LOG_LEVEL": "WARNING"}
    papers = tool("papers", "40", env=env).split()
    users = json.loads(tool("voters", str(VOTERS * USERS_PER_VOTER), env=env))
    db = Path(env["PAPERFEED_HOME"]) / "paperfeed.sqlite3"
    wal = db.with_name(db.name + "-wal")
    server = Server(env, tmp_path / "server.log", workers=3).wait_ready()
    ingester = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.tool", "ingest", "1000", "3000" if LONG else "600", "50"],
        env={**env, "DJANGO_SETTINGS_MODULE": "paperfeed.settings"},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        reader_paths = ["/", "/api/daily_papers", *(f"/api/papers/{p}" for p in papers[:6])]
        # Enough reader addresses that the API's 300 per 5 minutes per address never bites.
        readers = Load(server.url, reader_paths, ips_per_thread=50 if LONG else 4).start()
        voters = [
            Voter(n, server.url, users[n * USERS_PER_VOTER : (n + 1) * USERS_PER_VOTER], papers)
            for n in range(VOTERS)
        ]
        for v in voters:
            v.start()
        wal_peak = 0
        while any(v.is_alive() for v in voters):
            wal_peak = max(wal_peak, wal.stat().st_size if wal.exists() else 0)
            time.sleep(0.2)
        out, err = ingester.communicate(timeout=600)
        reads = readers.stop()
        wal_end = wal.stat().st_size if wal.exists() else 0

        assert ingester.returncode == 0, err[-3000:]  # the ingester never saw "database is locked"
        assert json.loads(out)["created"] > 0
        failures = [f for v in voters for f in v.failures]
        assert not failures, failures[:5]
        bad_reads = [s for s in reads if s.status != 200]
        assert not bad_reads, bad_reads[:3]
        assert "database is locked" not in server.output()

        # Each paper's count, as the API reports it, equals its vote rows; those are exactly the
        # toggles the clients saw acknowledged.
        facts = json.loads(tool("sqlite", env=env))
        assert facts["journal_mode"] == "wal" and facts["integrity"] == ["ok"]
        expected = sorted([uid, paper] for v in voters for (uid, paper), on in v.state.items() if on)
        assert facts["votes"] == expected
        with client(timeout=30) as c:
            for p in papers[:10]:
                shown = c.get(f"{server.url}/api/papers/{p}").json()["upvotes"]
                assert shown == sum(1 for _, paper in expected if paper == p)
        assert wal_peak <= WAL_LIMIT and wal_end <= WAL_LIMIT, (wal_peak, wal_end)
        print(
            f"L3: {VOTERS * TOGGLES} toggles, {len(reads)} reads, ingester {json.loads(out)}, "
            f"-wal peak {wal_peak / 2**20:.1f} MiB, end {wal_end / 2**20:.1f} MiB"
        )
    finally:
        if ingester.poll() is None:
            ingester.kill()
        server.stop()
