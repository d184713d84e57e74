"""The scale benchmark's building blocks: synthetic records that import like real ones, and a kept
home that a second run reuses instead of building again."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from paperfeed.bench import search
from paperfeed.bench.common import kept_env, kept_meta, kept_update
from paperfeed.bench.synthetic import RealStats, records
from paperfeed.papers.sources.snapshot import parse_record
from tests.conftest import SNAPSHOT


@pytest.fixture(scope="module")
def stats() -> RealStats:
    return RealStats.from_snapshot(SNAPSHOT, limit=500)


def test_synthetic_records_parse_as_announced_papers_on_real_days(stats: RealStats) -> None:
    parsed = [parse_record(r) for r in records(50, stats)]
    real_days = {dt.date.fromisoformat(d) for d in stats.dates}
    assert all(p.announced in real_days for p in parsed)
    assert all(p.arxiv_id.startswith("3") and p.title and p.abstract and p.categories for p in parsed)
    assert len({p.arxiv_id for p in parsed}) == 50


def test_a_kept_home_remembers_what_it_holds_and_a_fresh_one_is_thrown_away(tmp_path: Path) -> None:
    home = tmp_path / "kept"
    with kept_env("sqlite", home) as env:
        assert env["PAPERFEED_HOME"] == str(home) and "DATABASE_URL" not in env
        kept_update(env, synthetic={"papers": 7, "import_s": 1.0})
    with kept_env("sqlite", home) as env:
        assert kept_meta(env)["synthetic"] == {"papers": 7, "import_s": 1.0}
    with kept_env("sqlite", None) as env:
        fresh = Path(env["PAPERFEED_HOME"])
        kept_update(env, synthetic={"papers": 1})  # nothing to record into
        assert kept_meta(env) == {}
    assert not fresh.exists()


def test_build_synthetic_reuses_a_kept_build_of_the_same_size(tmp_path: Path, stats: RealStats) -> None:
    home = tmp_path / "kept"
    with kept_env("sqlite", home) as env:
        kept_update(env, synthetic={"papers": 1000, "import_s": 12.5})
        reused = search.build_synthetic(env, 1000, stats)
    assert reused["import_s"] == 12.5 and reused["reused_home"] == str(home)
    assert json.loads((home / "bench.json").read_text())["database"] == "sqlite"
    assert sorted(p.name for p in home.iterdir()) == ["bench.json"]  # nothing was imported or indexed


@pytest.mark.timeout(120)  # bench builds in children: ~9 s quiet, 23 s at load 7
def test_a_build_that_was_killed_resumes_after_its_last_recorded_stage(
    tmp_path: Path, stats: RealStats
) -> None:
    home = tmp_path / "kept"
    stages = ["generate", "import", "keyword", "vectors", "sync"]
    with kept_env("sqlite", home) as env:
        # Killed after its last stage was recorded but before the build was: nothing runs again.
        kept_update(env, synthetic_partial={"papers": 1000, "import_s": 9.0, "stages": stages})
        resumed = search.build_synthetic(env, 1000, stats)
        meta = kept_meta(env)
    assert resumed["import_s"] == 9.0 and resumed["stages"] == stages
    assert meta["synthetic"] == resumed and meta["synthetic_partial"] is None
    assert sorted(p.name for p in home.iterdir()) == ["bench.json"]  # nothing was generated or imported
    with kept_env("sqlite", home) as env:
        # A partial build of another size is not resumed: the first stage runs (here: generating).
        kept_update(env, synthetic=None, synthetic_partial={"papers": 5, "stages": stages})
        resumed = search.build_synthetic(env, 20, stats)
    assert resumed["papers"] == 20 and resumed["generate_s"] >= 0 and resumed["imported"] == 20
