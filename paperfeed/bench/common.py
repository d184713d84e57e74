"""Helpers the benchmarks share: the real data's location, fresh homes and databases, child runs."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SHARED_DATA = Path(
    os.environ.get("PAPERFEED_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data")
)
SNAPSHOT = SHARED_DATA / "arxiv_metadata" / "arxiv_cs_daily_2025-03_2026-07.kaggle.jsonl.gz"
PG_ADMIN_URL = os.environ.get("PAPERFEED_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def postgres_database(prefix: str = "pfbench") -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards. Yields its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_env(database: str) -> Iterator[dict[str, str]]:
    """Environment for a child `paperfeed` with its own home and (for postgres) its own database."""
    with tempfile.TemporaryDirectory(prefix="pfbench-") as home:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["PAPERFEED_HOME"] = home
        if database == "postgres":
            with postgres_database() as url:
                env["DATABASE_URL"] = url
                yield env
        else:
            yield env


@contextlib.contextmanager
def kept_env(database: str, home: Path | None) -> Iterator[dict[str, str]]:
    """`fresh_env`, or with `home` a home (and database) that outlives the run: a later run with the
    same home finds what the first built (`home/bench.json` says what that is), so a large build is
    paid once and its queries can be measured again when the machine is quiet. Remove the home and
    drop the database named in bench.json to start over."""
    if home is None:
        with fresh_env(database) as env:
            yield env
        return
    home.mkdir(parents=True, exist_ok=True)
    meta_path = home / "bench.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PAPERFEED_HOME"] = str(home)
    if database == "postgres":
        if "database_url" not in meta:
            import psycopg

            name = f"pfkeep_{uuid.uuid4().hex[:10]}"
            admin = PG_ADMIN_URL.replace("postgres://", "postgresql://")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            meta["database_url"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        env["DATABASE_URL"] = meta["database_url"]
    meta["database"] = database
    meta_path.write_text(json.dumps(meta))
    yield env


def kept_meta(env: dict[str, str]) -> dict[str, Any]:
    path = Path(env["PAPERFEED_HOME"]) / "bench.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def kept_update(env: dict[str, str], **changes: Any) -> None:
    """Record what a kept home now holds (no-op for a fresh one, which is thrown away)."""
    path = Path(env["PAPERFEED_HOME"]) / "bench.json"
    if path.exists():
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def paperfeed(
    args: list[str], env: dict[str, str], timeout: float = 3600
) -> tuple[dict[str, Any] | None, float]:
    """Run `paperfeed ARGS` in a child; return (its --json output or None, wall seconds)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "paperfeed", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"paperfeed {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    out = proc.stdout.strip().splitlines()
    return (json.loads(out[-1]) if out and "--json" in args else None), seconds


def peak_rss_children_mb() -> float:
    """Peak resident memory of the largest child waited for so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
