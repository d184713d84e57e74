import gzip
import json
import random
from pathlib import Path

import pytest

from paperfeed.papers.sources.snapshot import (
    LineError,
    parse_line,
    parse_record,
    read_snapshot,
    record_at,
    rereads_closed,
)
from tests.conftest import SNAPSHOT
from tests.papers.file_reads import file_reads

GOOD = {
    "id": "0704.0001",
    "submitter": "Pavel Nadolsky",
    "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies",
    "comments": "37 pages, 15 figures; published version",
    "journal-ref": "Phys.Rev.D76:013009,2007",
    "doi": "10.1103/PhysRevD.76.013009",
    "report-no": "ANL-HEP-PR-07-12",
    "categories": "hep-ph",
    "license": None,
    "abstract": "  A fully differential calculation in perturbative quantum chromodynamics is\npresented.\n",
    "versions": [
        {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
        {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
    ],
    "update_date": "2008-11-13",
    "authors_parsed": [
        ["Balázs", "C.", ""],
        ["Berger", "E. L.", ""],
        ["Nadolsky", "P. M.", ""],
        ["Yuan", "C. -P.", ""],
    ],
}


def test_parses_a_full_kaggle_record() -> None:
    r = parse_record(GOOD)
    assert r.arxiv_id == "0704.0001"
    assert r.version == 2
    assert r.published is not None and r.published.isoformat() == "2007-04-02T19:18:42+00:00"
    assert r.updated is not None and r.updated.isoformat() == "2007-07-24T20:10:27+00:00"
    assert r.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert [a.keyname for a in r.authors] == ["Balázs", "Berger", "Nadolsky", "Yuan"]
    assert r.authors_text.startswith("C. Balázs,")  # TeX decoded, as in the parsed names
    assert (r.doi, r.journal_ref, r.report_no, r.license) == (
        "10.1103/PhysRevD.76.013009",
        "Phys.Rev.D76:013009,2007",
        "ANL-HEP-PR-07-12",
        None,
    )
    assert r.categories == ["hep-ph"]


def _write(path: Path, lines: list[str], gz: bool) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_broken_lines_are_reported_with_their_numbers(tmp_path: Path) -> None:
    good = json.dumps(GOOD)
    lines = [
        good,
        "{not json",
        good.replace("0704.0001", "0704.0002"),
        "",
        '{"id": "0704.0003"}',
        json.dumps(GOOD | {"id": "nonsense"}),
        good.replace("0704.0001", "0704.0004"),
    ]
    for gz in (False, True):
        got = list(read_snapshot(_write(tmp_path / f"s{gz}.jsonl", lines, gz)))
        errors = {n: r.reason for n, r, _ in got if isinstance(r, LineError)}
        ok = [r.arxiv_id for _, r, _ in got if not isinstance(r, LineError)]
        assert ok == ["0704.0001", "0704.0002", "0704.0004"]
        assert sorted(errors) == [2, 5, 6]
        assert "invalid JSON" in errors[2] and "title" in errors[5] and "arXiv identifier" in errors[6]


@pytest.mark.parametrize("gz", [False, True])
def test_a_byte_order_mark_and_crlf_line_ends_are_read(tmp_path: Path, gz: bool) -> None:
    lines = [json.dumps(GOOD | {"id": f"0704.000{i}"}) for i in (1, 2)]
    data = b"\xef\xbb\xbf" + "".join(f"{line}\r\n" for line in lines).encode()
    path = tmp_path / ("bom.jsonl.gz" if gz else "bom.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    got = [r for _, r, _ in read_snapshot(path)]
    assert [r.arxiv_id for r in got if not isinstance(r, LineError)] == ["0704.0001", "0704.0002"], got


def test_truncated_gzip_reports_and_keeps_what_was_read(tmp_path: Path) -> None:
    good = json.dumps(GOOD)
    blob = gzip.compress(
        ("\n".join(good.replace("0704.0001", f"0704.{i:04d}") for i in range(1, 200)) + "\n").encode()
    )
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(blob[: len(blob) // 2])
    got = list(read_snapshot(path))
    assert isinstance(got[-1][1], LineError) and "unreadable" in got[-1][1].reason
    assert sum(1 for _, r, _ in got if not isinstance(r, LineError)) > 10


def test_every_real_record_parses() -> None:
    n = 0
    for _, rec, _ in read_snapshot(SNAPSHOT):
        assert not isinstance(rec, LineError), rec
        n += 1
    assert n == 74728


# The snapshot's records whose authors_parsed carry TeX (5 of 74,728), cut to their TeX names.
TEX_NAMES = GOOD | {
    "id": "2510.02569",
    "authors": "Tolúl\\d{o}pé Ògúnrèmí, Peter St\\ütz, \\\\Ajinkya Umesh Mulik, Sathyanarayanan N. Aakur\\\\",
    "authors_parsed": [
        ["Ògúnrèmí", "Tolúl\\d{o}pé", ""],
        ["St\\ütz", "Peter", ""],
        ["Mulik", "\\\\Ajinkya Umesh", ""],
        ["Aakur\\\\", "Sathyanarayanan N.", ""],
        ["Nguy\\~ên", "", ""],
    ],
}


def test_tex_in_author_names_is_decoded_where_records_enter() -> None:
    r = parse_record(TEX_NAMES)
    assert [(a.display, a.key) for a in r.authors] == [
        ("Tolúlọpé Ògúnrèmí", "tolulope-ogunremi"),
        ("Peter Stütz", "peter-stutz"),
        ("Ajinkya Umesh Mulik", "ajinkya-umesh-mulik"),
        ("Sathyanarayanan N. Aakur", "sathyanarayanan-n-aakur"),
        ("Nguyễn", "nguyen"),
    ]
    assert r.authors_text == ("Tolúlọpé Ògúnrèmí, Peter Stütz, Ajinkya Umesh Mulik, Sathyanarayanan N. Aakur")
    # A record without authors_parsed splits its authors line, through the same names.
    split = parse_record({k: v for k, v in TEX_NAMES.items() if k != "authors_parsed"})
    assert [a.display for a in split.authors] == [a.display for a in r.authors][:4]


@pytest.mark.parametrize("gz", [False, True])
def test_many_records_read_again_in_file_order_cost_one_pass_over_the_file(tmp_path: Path, gz: bool) -> None:
    """The import reads a record again by its line number (shipped without its line, the paper was
    stored meanwhile by another process): each read started from the file's start, so n of them
    decompressed the file n/2 times over."""
    words = random.Random(7).choices(
        ["graph", "neural", "bound", "sparse", "kernel", "proof", "field"], k=60_000
    )
    lines = [
        json.dumps(
            GOOD | {"id": f"0704.{i:04d}", "abstract": " ".join(words[i * 200 : (i + 1) * 200])}
        ).encode()
        for i in range(1, 301)
    ]
    data = b"\n".join(lines[:10]) + b"\n\n" + b"\n".join(lines[10:]) + b"\n"  # a blank line 11
    path = tmp_path / ("s.jsonl.gz" if gz else "s.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    numbers = [*range(1, 11), *range(12, 302)]
    with rereads_closed(), file_reads(path) as reads:
        got = [record_at(path, n) for n in numbers]
    assert got == [parse_line(line) for line in lines]
    assert reads["opens"] == 1
    assert reads["bytes"] < 2 * path.stat().st_size + 256 * 1024, (reads, path.stat().st_size)

    with rereads_closed(), file_reads(path) as reads:
        # Back to an earlier line: from the start again. A line that is not a record, or is no more.
        assert [record_at(path, n).arxiv_id for n in (200, 3)] == ["0704.0199", "0704.0003"]
        with pytest.raises(ValueError, match="no line 11"):
            record_at(path, 11)
        with pytest.raises(ValueError, match="no line 400"):
            record_at(path, 400)
        # The file replaced meanwhile: read from its start, as it is now.
        path.write_bytes(gzip.compress(lines[5] + b"\n") if gz else lines[5] + b"\n")
        assert record_at(path, 1).arxiv_id == "0704.0006"
    assert reads["opens"] == 4  # 200, 3 (and on to 11 and the end), the write, the new file
