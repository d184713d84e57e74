"""Digest composition: the digests of 10,000 subscribers with personal content (follows, saved searches,
trending), composed and rendered (subject, text, HTML, signed links and headers), next to the same for
1,000 (issue target: <= 60 s at 10,000 on SQLite). Runs in a fresh home with a real slice of the
snapshot; nothing is sent (MIME serialisation happens at send time and is not counted)."""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from typing import Any

from paperfeed.bench.common import SNAPSHOT, child_json, fresh_env, paperfeed

PERIOD = "2025-03-25"  # a Tuesday in the snapshot's first week: ~400 new papers in its window
RECORDS = 3000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")


def run(options: dict[str, Any]) -> dict[str, Any]:
    import gzip

    with fresh_env(options["database"]) as env:
        paperfeed(["init"], env)
        sample = os.path.join(env["PAPERFEED_HOME"], "sample.jsonl")
        with gzip.open(SNAPSHOT, "rt") as src, open(sample, "w") as out:
            for i, line in enumerate(src):
                if i >= RECORDS:
                    break
                out.write(line)
        paperfeed(["import", sample], env)
        result = compose(env, options["subscribers"], options["baseline"])
    return {"database": options["database"], **result}


def compose(env: dict[str, str], subscribers: int, baseline: int) -> dict[str, Any]:
    """Compose the digests of `subscribers` (and of the first `baseline` of them) in env's database,
    which holds the papers; the bench's subscribers of an earlier run there are replaced."""
    inner = child_json(["-m", "paperfeed.bench.digest", str(subscribers), str(baseline)], env, "digest bench")
    big, base = inner["big"], inner["baseline"]
    return {
        "period": inner["period"],
        "papers_in_window": inner["papers_in_window"],
        "subscribers": big["subscribers"],
        "seconds": big["seconds"],
        "ms_per_subscriber": round(1000 * big["seconds"] / big["subscribers"], 2),
        "papers_per_digest": big["papers_per_digest"],
        "baseline_subscribers": base["subscribers"],
        "baseline_seconds": base["seconds"],
        "baseline_ms_per_subscriber": round(1000 * base["seconds"] / base["subscribers"], 2),
        "ratio": round(big["seconds"] / base["seconds"], 2) if base["seconds"] else None,
        "target_seconds": 60,
        "meets_target": big["seconds"] <= 60,
    }


def _subscribers(n: int, offset: int, period: str = PERIOD) -> list[Any]:
    """n confirmed subscribers with personal content drawn from the window's real papers."""
    import datetime as dt

    from paperfeed.digests.models import Subscriber
    from paperfeed.papers.models import Paper

    rng = random.Random(n)
    Subscriber.objects.filter(email__startswith="bench", email__endswith="@example.org").delete()
    day = dt.date.fromisoformat(period)
    papers = list(Paper.objects.announced_on(day).values_list("primary_category_id", "authors", "title"))
    cats = sorted({c for c, _, _ in papers if c})
    authors = sorted({a["key"] for _, names, _ in papers for a in names if a.get("key")})
    words = [w.lower() for _, _, t in papers for w in t.split() if len(w) > 6 and w.isalpha()]
    queries = [
        " ".join(rng.sample(words, 1)) + (f" cat:{rng.choice(cats)}" if rng.random() < 0.5 else "")
        for _ in range(100)
    ]
    rows = [
        Subscriber(
            email=f"bench{offset + i}@example.org",
            status=Subscriber.Status.CONFIRMED,
            categories=rng.sample(cats, min(len(cats), rng.randint(1, 3))),
            authors=rng.sample(authors, min(len(authors), rng.randint(0, 3))),
            searches=rng.sample(queries, rng.randint(0, 2)),
        )
        for i in range(n)
    ]
    Subscriber.objects.bulk_create(rows, batch_size=2000)
    return list(
        Subscriber.objects.filter(email__startswith="bench", pk__gt=0).order_by("pk")[offset : offset + n]
    )


def _compose_all(period: str, subs: list[Any]) -> dict[str, Any]:
    import datetime as dt

    from paperfeed.digests import content, mail
    from paperfeed.digests.models import Digest
    from paperfeed.digests.render import Renderer
    from paperfeed.digests.services import BATCH

    digest, _ = Digest.objects.get_or_create(frequency="daily", period=dt.date.fromisoformat(period))
    ctx, renderer = content.Context.of(digest), Renderer()
    started = time.perf_counter()
    total = 0
    for i in range(0, len(subs), BATCH):
        batch = subs[i : i + BATCH]
        composed = content.compose(ctx, batch)
        for sub in batch:
            items = composed[sub.pk]
            total += len(items)
            subject, text, html = renderer.render(digest, sub, items)
            mail.build(sub, subject, text, html, mail.list_headers(sub))
    seconds = time.perf_counter() - started
    return {
        "subscribers": len(subs),
        "seconds": round(seconds, 2),
        "papers_per_digest": round(total / len(subs), 1),
    }


def _inner(big: int, baseline: int) -> dict[str, Any]:
    import datetime as dt

    import django

    django.setup()
    from paperfeed.papers.models import Paper

    period = PERIOD
    if not Paper.objects.announced_on(dt.date.fromisoformat(period)).exists():
        # Synthetic papers draw their days from the real ones: take their busiest day instead.
        from django.db.models import Count

        busiest = (
            Paper.objects.exclude(announced=None)
            .values("announced")
            .annotate(n=Count("id"))
            .order_by("-n", "-announced")
            .first()
        )
        period = busiest["announced"].isoformat() if busiest and busiest["announced"] else PERIOD
    subs = _subscribers(big, 0, period)
    base = _compose_all(period, subs[:baseline])
    full = _compose_all(period, subs)
    n = Paper.objects.announced_on(dt.date.fromisoformat(period)).count()
    return {"baseline": base, "big": full, "papers_in_window": n, "period": period}


if __name__ == "__main__":
    print(json.dumps(_inner(int(sys.argv[1]), int(sys.argv[2]))))
