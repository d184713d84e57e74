"""S12: the snapshot parser and what storing needs never crash on hostile input; every bad line is
reported with its number and the good ones still come through."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from paperfeed.papers.records import PaperRecord
from paperfeed.papers.services import prepare_for_storage
from paperfeed.papers.sources.snapshot import LineError, read_snapshot

GOOD = {
    "id": "2501.00001",
    "authors": "Jane Doe, John Smith",
    "title": "A good paper",
    "abstract": "About $x<y$ &amp; code at https://github.com/a/b.",
    "categories": "cs.CL cs.LG",
    "versions": [{"version": "v1", "created": "Mon, 6 Jan 2025 10:00:00 GMT"}],
    "update_date": "2025-01-07",
}

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
# Each field of a real record replaced, sometimes, by anything JSON can hold.
records = st.fixed_dictionaries({}, optional={k: st.one_of(st.just(v), values) for k, v in GOOD.items()})
lines = st.one_of(
    records.map(lambda d: json.dumps(d).encode()),
    # (a file that starts with gzip's magic bytes is read as gzip; test_snapshot covers a broken one)
    st.binary(max_size=80).filter(lambda b: b"\n" not in b and not b.startswith(b"\x1f\x8b")),
    st.text(max_size=80)
    .filter(lambda s: "\n" not in s and "\r" not in s)
    .map(lambda s: s.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, max_size=6))
@example([b"\xef\xbb\xbf"])  # found by this test once the reader dropped a leading BOM
def test_any_lines_parse_or_are_reported_with_their_number(body: list[bytes]) -> None:
    good = json.dumps(GOOD).encode()
    content = [*body, good]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fuzz.jsonl"
        path.write_bytes(b"\n".join(content) + b"\n")
        got = list(read_snapshot(path))
    # A byte order mark opening the file is the encoding's signature, not text: a first line of
    # nothing else is blank.
    seen = [content[0].removeprefix(b"\xef\xbb\xbf"), *content[1:]]
    nonblank = [i + 1 for i, line in enumerate(seen) if line.strip()]
    # A line the tokenizer splits differently (a lone \r is not a line break here) still numbers 1..n.
    assert [n for n, _, _ in got] == nonblank
    for n, item, _ in got:
        if isinstance(item, LineError):
            assert item.line == n and item.reason
        else:
            assert isinstance(item, PaperRecord) and item.title and item.arxiv_id
            prepare_for_storage(item, "snapshot")  # hashing, links and the row never fail either
    last = got[-1][1]
    assert isinstance(last, PaperRecord) and last.arxiv_id == "2501.00001"
