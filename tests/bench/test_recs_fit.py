"""`paperfeed bench recs --fit` on a small synthetic catalogue: who trains, who is held out, what it fits."""

import datetime as dt
import gzip
import json
import random

from paperfeed.bench import recs

TOPICS = 6


def _catalogue(path):
    rng = random.Random(3)
    vocab = [[f"topic{t}word{w}" for w in range(30)] for t in range(TOPICS)]
    records, n = [], 0

    def paper(author, topic, day):
        nonlocal n
        n += 1
        words = rng.sample(vocab[topic], 6)
        records.append(
            {
                "title": " ".join(words[:3]),
                "abstract": " ".join(words),
                "authors_parsed": [[author, "A", ""]],
                "update_date": day.isoformat(),
                "categories": f"cs.T{topic}" + (" cs.XX" if n % 3 == 0 else ""),
            }
        )

    def days(start, count, step=9):
        return [start + dt.timedelta(days=step * i) for i in range(count)]

    for t in range(TOPICS):
        for a in range(3):  # trains: 5 papers before 2025-09-01, 3 after it, none from 2025-11 on
            for d in days(dt.date(2025, 6, 1), 5) + days(dt.date(2025, 9, 5), 3):
                paper(f"train{t}x{a}", t, d)
        for a in range(2):  # evaluated at 2026-01-01: nothing between 2025-09-01 and the cutoff
            for d in days(dt.date(2025, 6, 2), 5) + days(dt.date(2026, 2, 1), 3):
                paper(f"test{t}x{a}", t, d)
        # Would qualify for training too, but is evaluated at 2026-01-01: held out.
        for d in days(dt.date(2025, 6, 3), 5) + days(dt.date(2025, 9, 6), 3) + days(dt.date(2026, 2, 2), 3):
            paper(f"both{t}", t, d)
    with gzip.open(path, "wt") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def test_fit_trains_on_earlier_users_only_and_confirms_on_the_held_out_sample(tmp_path):
    path = tmp_path / "papers.jsonl.gz"
    _catalogue(path)
    out = recs.run({"file": path, "cutoff": dt.date(2026, 1, 1), "seed": 0, "users": 100, "fit": True})
    training, held_out = out["training"], out["held_out"]
    # Only the authors whose later papers precede 2026 train; "both..." would qualify but are evaluated.
    assert training["users"] == TOPICS * 3
    assert held_out["users"] == TOPICS * 3
    assert len(training["grid"]) == len(recs.GRID_CATEGORY) * len(recs.GRID_SIMILAR)
    best = max(training["grid"], key=lambda g: g["recall_at_50"])
    assert training["recall_at_50_fitted"] == best["recall_at_50"]
    assert training["fitted"] in [
        {"category_weight": g["category_weight"], "similar_weight": g["similar_weight"]}
        for g in training["grid"]
    ]
    for name in ("previous", "shipped", "fitted"):
        assert 0 < held_out[name]["recall_at_50"] <= 1  # clear topics: their papers are found
    assert held_out["previous"]["vs_previous"] == 1
