"""Import: the 74,728 real records into a fresh home, papers/s and peak memory, next to json.loads.

The floor is the time plain `json.loads` takes over the same decompressed lines, in this process,
in the same run: no importer can be faster than reading its input.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path
from typing import Any

from paperfeed.bench.common import SNAPSHOT, fresh_env, paperfeed

TARGETS = {"sqlite": 5000, "postgres": 3000}  # papers/s, from the foundation issue
MEMORY_TARGET_MB = 400


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, default=SNAPSHOT)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")


def _floor(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    n = 0
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as f:
        for line in f:
            if line.strip():
                json.loads(line)
                n += 1
    return n, time.perf_counter() - started


def _measure(path: Path, database: str) -> dict[str, Any]:
    import resource

    with fresh_env(database) as env:
        paperfeed(["init"], env)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result, seconds = paperfeed(["import", str(path), "--json"], env)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        again, again_seconds = paperfeed(["import", str(path), "--json"], env)
    assert result is not None and again is not None
    rate = result["read"] / seconds
    return {
        "database": database,
        "records": result["read"],
        "created": result["created"],
        "skipped": result["skipped"],
        "seconds": round(seconds, 2),
        "papers_per_s": round(rate),
        "target_papers_per_s": TARGETS[database],
        "meets_target": rate >= TARGETS[database],
        # ru_maxrss of children is the max over all children so far; `init` is far smaller.
        "peak_rss_mb": round(max(peak, before) / 1024, 1),
        "memory_target_mb": MEMORY_TARGET_MB,
        "rerun_seconds": round(again_seconds, 2),
        "rerun_created": again["created"],
        "rerun_updated": again["updated"],
    }


def run(options: dict[str, Any]) -> dict[str, Any]:
    path: Path = options["file"]
    n, floor_s = _floor(path)
    dbs = ["sqlite", "postgres"] if options["database"] == "both" else [options["database"]]
    runs = [_measure(path, db) for db in dbs]
    for r in runs:
        r["ratio_to_json_floor"] = round(r["seconds"] / floor_s, 2)
    return {
        "benchmark": "import",
        "file": str(path),
        "baseline": {
            "name": "json.loads of the same lines",
            "records": n,
            "seconds": round(floor_s, 2),
            "records_per_s": round(n / floor_s),
        },
        "runs": runs,
    }
