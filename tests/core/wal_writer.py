"""A writer that dies with commits only in SQLite's `-wal` file (tests/core/test_bad_input_faults.py):

    python -m tests.core.wal_writer N M

stores the shared snapshot's first N papers and checkpoints them into the database file, stores the
next M with checkpoints off, prints {"checkpointed": [ids], "wal_only": [ids]} and kills itself
with SIGKILL (a clean close would checkpoint them too and delete the -wal file).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys

import django


def main(n: int, m: int) -> None:
    django.setup()
    from django.db import connection

    from paperfeed.papers.records import PaperRecord
    from paperfeed.papers.services import Ingestor
    from paperfeed.papers.sources.snapshot import read_snapshot
    from tests.conftest import SNAPSHOT

    records = [
        r for _, r, _ in itertools.islice(read_snapshot(SNAPSHOT), n + m) if isinstance(r, PaperRecord)
    ]
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_autocheckpoint=0")
    with Ingestor("wal-test") as ing:
        for r in records[:n]:
            ing.add(r)
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _, _ = cur.fetchone()
        assert busy == 0, "the checkpoint did not complete"
    with Ingestor("wal-test") as ing:
        for r in records[n:]:
            ing.add(r)
    ids = [r.arxiv_id for r in records]
    print(json.dumps({"checkpointed": ids[:n], "wal_only": ids[n:]}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
