"""`paperfeed import` end to end: real CLI, real database (SQLite, and PostgreSQL in the second run)."""

import gzip
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SNAPSHOT, paperfeed
from tests.papers.test_snapshot import GOOD

pytestmark = pytest.mark.database


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children: ~5-6 s quiet
def test_broken_lines_are_named_and_the_rest_imported(cli_env: dict[str, str], tmp_path: Path) -> None:
    good = [json.dumps(GOOD | {"id": f"0704.{i:04d}"}) for i in range(1, 8)]
    broken = ['{"id": "0704.0100", "title": ', "[1, 2]", '{"id": "junk", "title": "x"}']
    lines = [*good[:2], broken[0], *good[2:4], broken[1], *good[4:], broken[2]]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = json.loads(paperfeed("import", str(path), "--json", env=cli_env).stdout)
    assert (out["read"], out["created"], out["skipped"]) == (10, 7, 3)
    assert [e["line"] for e in out["errors"]] == [3, 6, 10]
    assert all(e["reason"] for e in out["errors"])
    strict = paperfeed("import", str(path), "--strict", env=cli_env, check=False)
    assert strict.returncode != 0 and "3 malformed" in strict.stderr
    # The wrong file altogether (here a CSV export): no paper in it is a failure, not a clean run.
    wrong = tmp_path / "papers.csv"
    wrong.write_text("id,title\n0704.0001,Calculation\n")
    run = paperfeed("import", str(wrong), "--json", env=cli_env, check=False)
    assert run.returncode == 1 and json.loads(run.stdout)["skipped"] == 2
    assert run.stderr.splitlines()[-1].startswith(
        "paperfeed: none of the 2 records read is a paper (line 1: "
    )
    # An empty file (a download that wrote nothing) read 0 papers and exited 0, as if done.
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    run = paperfeed("import", str(empty), "--json", env=cli_env, check=False)
    assert run.returncode == 1 and json.loads(run.stdout)["read"] == 0
    assert run.stderr.splitlines()[-1].startswith("paperfeed: no record in the file(s): they are empty")
    shown = json.loads(paperfeed("show", "0704.0003", "--json", env=cli_env).stdout)
    assert shown["title"].startswith("Calculation of prompt diphoton") and shown["version"] == 2
    missing = paperfeed("show", "0704.0999", env=cli_env, check=False)
    assert missing.returncode != 0 and "not stored" in missing.stderr


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children: ~4 s quiet, 16 s at load 7
def test_a_truncated_gzip_fails_the_run_after_storing_what_came_before(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    # It exited 0, the cut listed among the malformed lines: a cron job reading a half-downloaded
    # snapshot looked done, with most of its papers missing.
    blob = gzip.compress(
        ("\n".join(json.dumps(GOOD | {"id": f"0704.{i:04d}"}) for i in range(1, 400)) + "\n").encode()
    )
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(blob[: len(blob) // 2])
    whole = tmp_path / "whole.jsonl.gz"
    whole.write_bytes(gzip.compress((json.dumps(GOOD | {"id": "0705.0001"}) + "\n").encode()))
    run = paperfeed("import", str(cut), str(whole), "--json", env=cli_env, check=False)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    out = json.loads(run.stdout)  # the report still comes, on stdout
    ((unreadable),) = out["unreadable"]
    stored = unreadable["after_line"]
    assert 10 < stored < 399 and out["created"] == stored + 1  # the next file was imported too
    assert last == (
        f"paperfeed: {cut} could not be read past line {stored} (Compressed file ended before the "
        "end-of-stream marker was reached); the papers before it are stored, the rest of the file "
        "is not: fetch the file again (a truncated download or copy?) and import it again (papers "
        "stored already are left unchanged)"
    )
    # Imported again whole, it stores the rest and nothing twice.
    cut.write_bytes(blob)
    again = json.loads(paperfeed("import", str(cut), "--json", env=cli_env).stdout)
    assert (again["created"], again["unchanged"], again["unreadable"]) == (399 - stored, stored, [])


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children: ~5 s quiet, 12 s at load 7
def test_a_file_that_cannot_be_read_is_one_line_before_anything_is_imported(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    # A file this user may not read fails the same way, but the suite runs as root, who may read
    # anything: /proc/self/mem opens and then fails its first read (EIO). It was a traceback of
    # the parsing process, after the files before it had been imported.
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(GOOD) + "\n")
    run = paperfeed("import", str(first), "/proc/self/mem", env=cli_env, check=False)
    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr == (
        "paperfeed: cannot read /proc/self/mem (Input/output error); nothing was imported: check that "
        "the user running paperfeed may read it (and the disk it is on), then run the command again\n"
    )
    missing = paperfeed("show", GOOD["id"], env=cli_env, check=False)
    assert missing.returncode == 1 and "not stored" in missing.stderr
    # A folder is read for .abs files: one of snapshots was "no .abs files", without a hint.
    folder = paperfeed("import", str(tmp_path), env=cli_env, check=False)
    assert (folder.returncode, folder.stdout) == (1, "")
    assert folder.stderr == (
        f"paperfeed: no .abs files under {tmp_path} (snapshot files are named one by one, e.g. {first})\n"
    )


@pytest.mark.slow
# S13: imports the whole snapshot in children (killed once, then again to the end): minutes on a
# loaded 2-core machine.
@pytest.mark.migrated
@pytest.mark.timeout(600)
def test_kill_during_import_then_rerun_completes_without_duplicates(cli_env: dict[str, str]) -> None:
    # SIGKILL right after the fifth batch of 2,000 has committed (a failpoint, so the moment does not
    # depend on the machine's speed); the parsing process must not outlive the importer.
    killed = subprocess.run(
        [sys.executable, "-m", "paperfeed", "import", str(SNAPSHOT), "--batch-size", "2000"],
        env=cli_env | {"FAILPOINT": "ingest.after_commit:5"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    out = json.loads(paperfeed("import", str(SNAPSHOT), "--json", env=cli_env).stdout)
    assert (out["created"], out["unchanged"], out["skipped"]) == (74728 - 10000, 10000, 0)
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'paperfeed.settings'; django.setup()\n"
        "from django.db.models import Count\n"
        "from paperfeed.papers.models import Paper\n"
        "dups = Paper.objects.values('arxiv_id').annotate(n=Count('id')).filter(n__gt=1).count()\n"
        "print(Paper.objects.count(), dups)\n"
    )
    check = subprocess.run(
        [sys.executable, "-c", script], env=cli_env, capture_output=True, text=True, check=True
    )
    assert check.stdout.split() == ["74728", "0"]
