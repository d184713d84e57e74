"""Set-up and inspection steps the reliability tests run in a child process against the database of
a `paperfeed serve` under test (DJANGO_SETTINGS_MODULE=paperfeed.settings, the caller's environment):

    python -m tests.reliability.tool papers N           # store the shared snapshot's first N papers
    python -m tests.reliability.tool user NAME PASSWORD # a verified account
    python -m tests.reliability.tool token NAME         # prints a new API token of NAME
    python -m tests.reliability.tool voters N           # N accounts with API tokens: JSON [[id, token]]
    python -m tests.reliability.tool ingest SKIP N B    # ingest snapshot records SKIP..SKIP+N, B per commit
    python -m tests.reliability.tool sqlite             # JSON: journal_mode, integrity_check, votes
    python -m tests.reliability.tool votes              # JSON: every vote as [user id, arXiv id]
"""

from __future__ import annotations

import itertools
import json
import sys

import django


def _ingest(skip: int, n: int, batch: int) -> None:
    """A writer that keeps committing (the harvester's pattern: a batch per transaction); any
    error ends it with a non-zero exit and the error on stderr."""
    from django.db import connection

    from paperfeed.papers.records import PaperRecord
    from paperfeed.papers.services import Ingestor
    from paperfeed.papers.sources.snapshot import read_snapshot
    from tests.conftest import SNAPSHOT

    with connection.cursor() as cur:
        cur.execute("PRAGMA journal_mode")
        assert cur.fetchone()[0] == "wal"
    with Ingestor("reliability", batch_size=batch) as ing:
        for _, rec, _ in itertools.islice(read_snapshot(SNAPSHOT), skip, skip + n):
            if isinstance(rec, PaperRecord):
                ing.add(rec)
    print(json.dumps(dict(ing.counts)))


def main(argv: list[str]) -> None:
    django.setup()
    cmd, *args = argv
    if cmd == "papers":
        from tests.sitedata import load_papers

        print(" ".join(p.arxiv_id for p in load_papers(int(args[0]))))
    elif cmd == "user":
        from tests.sitedata import make_user

        make_user(args[0], password=args[1])
    elif cmd == "token":
        from paperfeed.accounts import services
        from paperfeed.accounts.models import User

        print(services.create_api_token(User.objects.get(username=args[0])).secret)
    elif cmd == "voters":
        from paperfeed.accounts import services
        from tests.sitedata import make_user

        users = [make_user(f"voter{i}") for i in range(int(args[0]))]
        print(json.dumps([[u.pk, services.create_api_token(u).secret] for u in users]))
    elif cmd == "ingest":
        _ingest(int(args[0]), int(args[1]), int(args[2]))
    elif cmd == "sqlite":
        from django.db import connection

        from paperfeed.feed.models import Vote

        with connection.cursor() as cur:
            cur.execute("PRAGMA journal_mode")
            mode = cur.fetchone()[0]
            cur.execute("PRAGMA integrity_check")
            integrity = [r[0] for r in cur.fetchall()]
        votes = sorted(Vote.objects.values_list("user_id", "paper__arxiv_id"))
        print(json.dumps({"journal_mode": mode, "integrity": integrity, "votes": votes}))
    elif cmd == "votes":
        from paperfeed.feed.models import Vote

        print(json.dumps(sorted(Vote.objects.values_list("user_id", "paper__arxiv_id"))))
    else:
        raise SystemExit(f"unknown command {cmd!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
