"""The .abs parser over all 1,192 real arXiv .abs files, and `paperfeed import` of a directory of them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from paperfeed.papers.sources.abs import parse_abs
from tests.conftest import paperfeed


@pytest.fixture(scope="module")
def abs_rows(shared_data: Path) -> list[dict[str, Any]]:
    with gzip.open(shared_data / "arxiv_metadata" / "arxiv_browse_abs_files.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def test_every_real_abs_file_parses_or_says_why(abs_rows: list[dict[str, Any]]) -> None:
    assert len(abs_rows) == 1192
    parsed, failed = [], []
    for row in abs_rows:
        try:
            parsed.append((row["path"], parse_abs(row["text"])))
        except ValueError as e:
            failed.append((row["path"], str(e)))
    # One fixture file in arXiv's own test data is empty.
    assert failed == [("ftp/math-ph/papers/0509/0509037.abs", failed[0][1])]
    assert "not an .abs file" in failed[0][1]
    for path, rec in parsed:
        assert rec.title and rec.abstract and rec.authors, path
        assert rec.categories, path
        assert rec.versions and rec.version == rec.versions[-1].version, path
        assert rec.published is not None and rec.published.tzinfo is not None, path
        number = rec.arxiv_id.rpartition("/")[2]
        assert number in path or path.endswith("cs/papers/0006/0006007.abs"), (
            path
        )  # one fixture holds its neighbour


def test_fields_of_known_files(abs_rows: list[dict[str, Any]]) -> None:
    by_path = {r["path"]: r["text"] for r in abs_rows}
    rec = parse_abs(by_path["ftp/hep-th/papers/9108/9108002.abs"])
    assert rec.arxiv_id == "hep-th/9108002" and rec.title == "Hamiltonian construction of W-gravity actions"
    assert rec.doi == "10.1016/0370-2693(92)90710-L" and rec.journal_ref == "Phys.Lett.B278:51-55,1992"
    assert rec.versions and rec.versions[0].size == "13kb" and rec.published.year == 1991  # type: ignore[union-attr]
    # Multi-line title, several revisions.
    rec = parse_abs(by_path["ftp/adap-org/papers/9509/9509003.abs"])
    assert rec.title.startswith("Self-organization, ergodicity breaking") and "\n" not in rec.title
    assert [v.version for v in rec.versions or []] == [1, 2, 3] and rec.version == 3
    assert rec.categories == ["adap-org", "nlin.AO"]
    # An abstract with a TeX line break (a `\\` line) is read to the file's last `\\`.
    rec = parse_abs(by_path["ftp/arxiv/papers/2004/2004.02153.abs"])
    assert "v_t = \\Delta v - v + u" in rec.abstract and rec.license
    # Nearly a thousand authors, continued over many header lines.
    rec = parse_abs(by_path["ftp/arxiv/papers/2103/2103.11058.abs"])
    assert len(rec.authors) > 900
    # The oldest files have no Categories line: the archive stands in.
    rec = parse_abs(by_path["orig/hep-th/papers/9901/9901001v2.abs"])
    assert rec.categories == ["hep-th"] and rec.version == 2 and rec.submitter == "Yosuke Imamura"


@pytest.mark.migrated
@pytest.mark.timeout(120)  # CLI children: ~4-5 s quiet, 18 s at load 7
@pytest.mark.database
def test_import_a_directory_of_abs_files(
    abs_rows: list[dict[str, Any]], cli_env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "abs"
    chosen = [r for r in abs_rows if r["path"].startswith("ftp/") and "9108002" not in r["path"]][:39]
    chosen.append(next(r for r in abs_rows if r["path"].endswith("hep-th/papers/9108/9108002.abs")))
    chosen.append(next(r for r in abs_rows if r["path"].endswith("0509037.abs")))  # the empty one
    for r in chosen:
        path = root / r["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(r["text"], encoding="utf-8")
    out = json.loads(paperfeed("import", str(root), "--json", env=cli_env).stdout)
    assert (out["read"], out["created"], out["skipped"]) == (41, 40, 1)
    assert out["errors"][0]["path"].endswith("0509037.abs")
    again = json.loads(paperfeed("import", str(root), "--json", env=cli_env).stdout)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 40)
    shown = json.loads(paperfeed("show", "hep-th/9108002", "--json", env=cli_env).stdout)
    assert shown["doi"] == "10.1016/0370-2693(92)90710-L" and shown["versions"][0]["size"] == "13kb"
    assert shown["title"] == "Hamiltonian construction of W-gravity actions"
