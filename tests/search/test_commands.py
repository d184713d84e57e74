"""`paperfeed index | search | similar` end to end: the real CLI in child processes, on the run's database."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from paperfeed.search.keyword import SCHEMA_VERSION
from tests.conftest import paperfeed, throwaway_pg_database
from tests.search.conftest import PAPERS, as_version_1

pytestmark = pytest.mark.database


def snapshot_file(tmp_path: Path, papers: list[tuple]) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "papers.jsonl"
    lines = []
    for arxiv_id, title, abstract, cats, day, authors in papers:
        lines.append(
            json.dumps(
                {
                    "id": arxiv_id,
                    "title": title,
                    "abstract": abstract,
                    "authors": ", ".join(f"{f} {k}" for k, f in authors),
                    "authors_parsed": [[k, f, ""] for k, f in authors],
                    "categories": " ".join(cats),
                    "update_date": day,
                    "versions": [{"version": "v1", "created": "Mon, 17 Mar 2025 10:00:00 GMT"}],
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


# S13: `paperfeed` children (each boots Django and loads the model) import, index and
# search: near a minute on a loaded 2-core machine.
@pytest.mark.migrated
@pytest.mark.timeout(300)
def test_import_then_index_search_batch_similar(cli_env: dict[str, str], tmp_path: Path) -> None:
    paperfeed("import", str(snapshot_file(tmp_path, PAPERS)), env=cli_env)
    before = paperfeed("search", "speculative decoding", "--json", env=cli_env, check=False)
    assert before.returncode == 1 and json.loads(before.stdout)["error"].startswith("the search index")

    first = json.loads(paperfeed("index", "--json", env=cli_env).stdout)
    assert first["keyword"]["indexed"] == 8 and first["embeddings"]["embedded"] == 8
    assert first["vectors"]["vectors"] == 8
    again = json.loads(paperfeed("index", "--json", env=cli_env).stdout)
    assert again["keyword"]["indexed"] == 0 and again["embeddings"]["embedded"] == 0
    assert again["vectors"]["added"] == 0

    out = json.loads(
        paperfeed("search", "speculative decoding", "--json", "--limit", "3", env=cli_env).stdout
    )
    assert out["query"] == "speculative decoding" and len(out["results"]) == 3
    top = out["results"][0]
    assert top["id"] == "2503.00001" and top["title"].startswith("Speculative") and top["score"] > 0
    assert "<mark>" in top["title_html"] and set(top["legs"]) == {"keyword", "semantic"}
    narrowed = json.loads(
        paperfeed(
            "search", "models", "--category", "cs.CV", "--mode", "keyword", "--json", env=cli_env
        ).stdout
    )
    assert [r["id"] for r in narrowed["results"]] == ["2503.00006"]
    piped = {k: v for k, v in cli_env.items() if k != "COLUMNS"}
    human = paperfeed("search", "C++", env=piped).stdout
    assert "2503.00004" in human.splitlines()[1] and "[" in human.splitlines()[1]  # one line each
    # At a terminal's width: each title and its reason ran on past the edge, the terminal's
    # wrapping cutting words; now wrapped by word, under the title's start.
    for args in (
        ("search", "speculative decoding", "--limit", "3"),
        ("similar", "2503.00001", "--limit", "3"),
    ):
        narrow = paperfeed(*args, env=piped | {"COLUMNS": "40"}).stdout.splitlines()
        first = next(i for i, line in enumerate(narrow) if line.startswith("  1. 2503.0000"))
        assert max(map(len, narrow)) <= 40 and len(narrow) - first > 3, narrow  # 3 results, wrapped
        assert all(line.startswith(("     ", "  2. ", "  3. ")) for line in narrow[first + 1 :]), narrow

    queries = tmp_path / "q.txt"
    queries.write_text('speculative decoding\n\n"unbalanced\nC++\n\x00\n')
    lines = paperfeed(
        "search", "--batch", str(queries), "--json", "--limit", "2", env=cli_env
    ).stdout.splitlines()
    docs = [json.loads(line) for line in lines]
    assert [d["query"] for d in docs] == ["speculative decoding", "", '"unbalanced', "C++", "\x00"]
    assert docs[0]["results"][0]["id"] == "2503.00001" and docs[1]["message"]
    assert docs[3]["results"][0]["id"] == "2503.00004"
    # A QUERY beside --batch was ignored without a word.
    both = paperfeed("search", "decoding", "--batch", str(queries), env=cli_env, check=False)
    assert (both.returncode, both.stdout) == (2, "")
    assert both.stderr == "paperfeed: give a QUERY or --batch FILE, not both\n"

    sim = json.loads(paperfeed("similar", "2503.00001", "--limit", "2", "--json", env=cli_env).stdout)
    assert sim["results"][0]["id"] == "2503.00007"
    assert sim["total"] == sim["listed"] == len(sim["results"]) == 2  # listed read 0
    missing = paperfeed("similar", "2501.99999", env=cli_env, check=False)
    assert missing.returncode == 1 and "not stored: 2501.99999" in missing.stderr
    # Month 99 is no arXiv id at all: refused with the other argument mistakes, before any look-up.
    invalid = paperfeed("similar", "2999.00001", env=cli_env, check=False)
    assert invalid.returncode == 2 and "not an arXiv identifier (month 99)" in invalid.stderr


NOT_BUILT = "the search index is not built yet (run `paperfeed index`)"


@pytest.mark.migrated  # the subject comes after the init
@pytest.mark.timeout(180)  # CLI children (no model is loaded): ~3 s each, 15 s at load 7
def test_search_and_similar_fail_until_the_index_is_built(cli_env: dict[str, str], tmp_path: Path) -> None:
    # They exited 0 with an empty list: a script (or a cron job's alert) read "no paper matches".
    paperfeed("import", str(snapshot_file(tmp_path, PAPERS[:2])), env=cli_env)
    for args in (["search", "speculative decoding"], ["similar", "2503.00001"]):
        run = paperfeed(*args, "--json", env=cli_env, check=False)
        doc = json.loads(run.stdout)  # still the one document, saying why there are no results
        assert (run.returncode, doc["results"], doc["error"]) == (1, [], NOT_BUILT), run.stderr
        assert run.stderr.splitlines()[-1] == f"paperfeed: {NOT_BUILT}"
        human = paperfeed(*args, env=cli_env, check=False)
        assert (human.returncode, human.stdout, human.stderr.splitlines()[-1]) == (
            1,
            "",
            f"paperfeed: {NOT_BUILT}",
        )
    queries = tmp_path / "q.txt"
    queries.write_text("decoding\nagents\n")
    batch = paperfeed("search", "--batch", str(queries), "--json", env=cli_env, check=False)
    assert [json.loads(line)["error"] for line in batch.stdout.splitlines()] == [NOT_BUILT] * 2
    assert batch.returncode == 1 and "2 of the queries could not be searched" in batch.stderr
    queries.write_text("")  # it exited 0 with no line at all
    empty = paperfeed("search", "--batch", str(queries), "--json", env=cli_env, check=False)
    assert (empty.returncode, empty.stdout) == (1, "")
    assert empty.stderr.splitlines()[-1] == f"paperfeed: no query in {queries}: it is empty"
    # Usage mistakes the parser cannot see (they need the stored categories) are status 2 too.
    for args in (
        ["search"],
        # Nothing to search for either: it exited 0 with an empty list.
        ["search", ""],
        ["search", "the of"],
        ["search", "x", "--category", "cs.XX"],
        ["similar", "2503.00001", "--category", "cs.XX"],
    ):
        run = paperfeed(*args, "--json", env=cli_env, check=False)
        assert (run.returncode, run.stdout, len(run.stderr.splitlines())) == (2, "", 1), (args, run.stderr)


# S13: `paperfeed` children (each boots Django and loads the model) import, index and
# search: near a minute on a loaded 2-core machine.
@pytest.mark.migrated
@pytest.mark.timeout(300)
def test_import_enqueues_indexing_and_the_worker_runs_it(cli_env: dict[str, str], tmp_path: Path) -> None:
    paperfeed("import", str(snapshot_file(tmp_path, PAPERS[:3])), env=cli_env)
    paperfeed("worker", "--batch", env=cli_env)
    out = json.loads(paperfeed("search", "multi-agent", "--json", env=cli_env).stdout)
    assert out["results"][0]["id"] == "2503.00002" and not out["degraded"]
    noop = json.loads(paperfeed("index", "--json", env=cli_env).stdout)
    assert noop["keyword"]["indexed"] == 0 and noop["embeddings"]["embedded"] == 0


# S13: indexes in children killed again and again, then once to the end: near a minute on a
# loaded 2-core machine.
# The scenario's own `init` then finds the database migrated (the chaos run's starts empty).
@pytest.mark.migrated
@pytest.mark.timeout(300)
@pytest.mark.slow
def test_index_killed_again_and_again_then_completes(cli_env: dict[str, str], tmp_path: Path) -> None:
    from tests.chaos.targets.index import run_scenario

    result = run_scenario(cli_env, tmp_path, kills=4, seed=3)
    assert result["final"]["keyword"]["documents"] == result["papers"]


@pytest.fixture
def other_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second database of this run's kind as `paperfeed init` leaves it, as a DATABASE_URL."""
    template = request.getfixturevalue("_migrated_template")
    if not settings.IS_POSTGRES:
        path = tmp_path / "other.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    with throwaway_pg_database("pfother", template=template) as url:
        yield url


@pytest.mark.migrated
@pytest.mark.timeout(300)  # six CLI children, no model loaded
def test_a_home_pointed_at_another_database_indexes_that_ones_papers(
    cli_env: dict[str, str], other_database: str, tmp_path: Path
) -> None:
    """The keyword index's watermark is a change id, and both databases have changes 1 to 4: by the
    id alone the home took the other database's papers for indexed, and searched the first one's."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paperfeed("import", str(snapshot_file(tmp_path / "a", PAPERS[:4])), env=cli_env)
    paperfeed("index", "--keyword-only", env=cli_env)
    moved = cli_env | {"DATABASE_URL": other_database}
    paperfeed("import", str(snapshot_file(tmp_path / "b", PAPERS[4:])), env=moved)

    report = json.loads(paperfeed("index", "--keyword-only", "--json", env=moved).stdout)["keyword"]

    def found(query: str) -> list[str]:
        out = paperfeed("search", query, "--mode", "keyword", "--json", env=moved).stdout
        return [r["id"] for r in json.loads(out)["results"]]

    assert found("private set intersection") == ["2503.00005"]
    assert found("speculative decoding") == []  # the first database's paper, not this one's
    assert report.get("rebuilt") and report["indexed"] == 4 and report["documents"] == 4
    again = json.loads(paperfeed("index", "--keyword-only", "--json", env=moved).stdout)["keyword"]
    assert not again["rebuilt"] and again["indexed"] == 0


def _stale_home(cli_env: dict[str, str], tmp_path: Path) -> Path:
    """A home whose keyword index an older release wrote (as_version_1), all papers in it, and the
    import's jobs run."""
    paperfeed("import", str(snapshot_file(tmp_path, PAPERS)), env=cli_env)
    paperfeed("worker", "--batch", env=cli_env)
    keyword = Path(cli_env["PAPERFEED_HOME"]) / "search" / "keyword"
    as_version_1(keyword)
    return keyword


def _found(cli_env: dict[str, str], query: str) -> list[str]:
    out = paperfeed("search", query, "--mode", "keyword", "--json", env=cli_env).stdout
    return [r["id"] for r in json.loads(out)["results"]]


STALE = f"keyword index: schema v1, code expects v{SCHEMA_VERSION}"


@pytest.mark.migrated
@pytest.mark.timeout(300)  # eleven CLI children, one loads the model
def test_searches_on_a_stale_index_queue_one_rebuild_that_the_worker_runs(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    _stale_home(cli_env, tmp_path)
    check = paperfeed("check", env=cli_env)
    assert f"{STALE}, no rebuild queued" in check.stderr + check.stdout
    for query in ("speculative decoding", "private set intersection"):  # two processes
        run = paperfeed("search", query, "--mode", "keyword", "--json", env=cli_env, check=False)
        assert run.returncode == 1
        assert json.loads(run.stdout)["error"] == (
            f"the search index is being rebuilt for this version of paperfeed ({STALE}, rebuild queued)"
        )
    check = paperfeed("check", env=cli_env)
    assert f"{STALE}, rebuild queued" in check.stderr + check.stdout and "paperfeed.W005" in check.stderr
    jobs = json.loads(paperfeed("jobs", "--json", env=cli_env).stdout)["jobs"]
    assert [j["name"] for j in jobs] == ["rebuild_keyword_index"]

    paperfeed("worker", "--batch", env=cli_env)
    assert _found(cli_env, "speculative decoding") == ["2503.00001"]
    assert _found(cli_env, "private set intersection")[:1] == ["2503.00005"]
    check = paperfeed("check", env=cli_env)
    assert "W005" not in check.stderr and "keyword index" not in check.stderr + check.stdout
    done = json.loads(paperfeed("jobs", "--status", "done", "--json", env=cli_env).stdout)["jobs"]
    assert [j["name"] for j in done].count("rebuild_keyword_index") == 1


@pytest.mark.migrated
@pytest.mark.timeout(300)  # six CLI children, three load the model
def test_index_rebuilds_a_stale_keyword_index_and_says_why(cli_env: dict[str, str], tmp_path: Path) -> None:
    _stale_home(cli_env, tmp_path)
    run = paperfeed("index", env=cli_env)  # nothing changed since the last run: it rebuilds all the same
    assert (
        f"keyword: rebuilt (schema v1, code expects v{SCHEMA_VERSION}): 8 indexed, 0 removed, 8 in"
        in run.stdout
    )
    assert f"{STALE}: building it again from the database" in run.stderr
    assert _found(cli_env, "speculative decoding") == ["2503.00001"]
    again = json.loads(paperfeed("index", "--json", env=cli_env).stdout)["keyword"]
    assert not again["rebuilt"] and again["reason"] is None and again["indexed"] == 0


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.mark.migrated
@pytest.mark.timeout(300)  # eight CLI children, one loads the model
def test_two_indexers_rebuild_once_and_a_kill_between_the_renames_is_finished(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    keyword = _stale_home(cli_env, tmp_path)
    command = [sys.executable, "-m", "paperfeed", "index", "--keyword-only", "--json"]
    # The first stops itself in the middle of its rebuild, holding the node's index lock.
    paused = {"FAILPOINT": "index.keyword.between_commit_and_state:1:SIGSTOP"}
    first = subprocess.Popen(command, env=cli_env | paused, stdout=subprocess.PIPE, text=True)
    try:
        while _state(first.pid) != "T":
            time.sleep(0.05)
        second = subprocess.Popen(
            command, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert second.stderr is not None
        for line in second.stderr:  # it waits for the first, and says so
            if "another indexer is running here; waiting for it" in line:
                break
    finally:
        os.kill(first.pid, signal.SIGCONT)
    reports = [json.loads(p.communicate(timeout=120)[0])["keyword"] for p in (first, second)]
    assert [r["rebuilt"] for r in reports] == [True, False] and reports[1]["indexed"] == 0
    assert [r["documents"] for r in reports] == [8, 8]

    as_version_1(keyword)
    killed = paperfeed(
        "index", "--keyword-only", env=cli_env | {"FAILPOINT": "index.keyword.between_renames"}, check=False
    )
    assert killed.returncode == -signal.SIGKILL
    assert not keyword.exists() and (keyword.parent / "keyword.next" / "state.json").exists()
    gone = paperfeed("search", "speculative decoding", "--json", env=cli_env, check=False)
    assert json.loads(gone.stdout)["error"].startswith("the search index is not built yet")
    report = json.loads(paperfeed("index", "--keyword-only", "--json", env=cli_env).stdout)["keyword"]
    assert not report["rebuilt"] and report["indexed"] == 0 and report["documents"] == 8
    assert sorted(p.name for p in keyword.parent.iterdir() if p.name.startswith("keyword")) == ["keyword"]
    assert _found(cli_env, "speculative decoding") == ["2503.00001"]
