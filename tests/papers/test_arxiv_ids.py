import pytest

from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id


@pytest.mark.parametrize(
    ("text", "ident", "version"),
    [
        ("2501.01234", "2501.01234", None),
        ("2501.01234v12", "2501.01234", 12),
        ("arXiv:2401.12345", "2401.12345", None),
        ("ARXIV:2401.12345v2", "2401.12345", 2),
        ("  0704.0001 ", "0704.0001", None),
        ("hep-th/9901001", "hep-th/9901001", None),
        ("hep-th/9901001v3", "hep-th/9901001", 3),
        ("math.GT/0309136", "math/0309136", None),
        ("https://arxiv.org/abs/2501.01234v3", "2501.01234", 3),
        ("http://arxiv.org/pdf/2501.01234v1.pdf", "2501.01234", 1),
        ("https://arxiv.org/pdf/2501.01234", "2501.01234", None),
        ("arxiv.org/abs/hep-th/9901001", "hep-th/9901001", None),
        ("https://export.arxiv.org/abs/cond-mat/0001001v2", "cond-mat/0001001", 2),
    ],
)
def test_accepts_what_people_paste(text: str, ident: str, version: int | None) -> None:
    got = parse_arxiv_id(text)
    assert (got.id, got.version) == (ident, version)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "2501.123",
        "2501.123456",
        "2500.01234",
        "2513.01234",
        "2501.01234v0",
        "hep-th/990100",
        "HEP-TH/9901001",
        "https://example.org/abs/2501.01234",
        "2501.01234; DROP TABLE",
        "2501.01234\nx",
    ],
)
def test_rejects_with_a_reason(text: str) -> None:
    with pytest.raises(InvalidArxivId, match="arXiv"):
        parse_arxiv_id(text)
