import datetime as dt

import pytest
from lxml import etree

from paperfeed.papers.records import (
    AuthorName,
    PaperRecord,
    Version,
    estimate_announcement,
    extract_links,
    parse_name,
    slugify_name,
    split_authors,
)
from paperfeed.papers.sources import oai


def record(**kw: object) -> PaperRecord:
    base: dict[str, object] = {
        "arxiv_id": "2501.00001",
        "title": "A title",
        "abstract": "An abstract.",
        "authors": [AuthorName("Doe", "Jane")],
        "categories": ["cs.CL"],
    }
    base.update(kw)
    return PaperRecord(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "keyname", "forenames", "suffix"),
    [
        ("Yann LeCun", "LeCun", "Yann", ""),
        ("Ludwig van Beethoven", "van Beethoven", "Ludwig", ""),
        ("Martin Luther King Jr.", "King", "Martin Luther", "Jr."),
        ("Curie, Marie", "Curie", "Marie", ""),
        ("Plato", "Plato", "", ""),
        ("  S. V.   Jaya Chand ", "Chand", "S. V. Jaya", ""),
    ],
)
def test_parse_name(name: str, keyname: str, forenames: str, suffix: str) -> None:
    assert parse_name(name) == AuthorName(keyname, forenames, suffix)


def test_author_key_folds_accents_and_punctuation() -> None:
    assert AuthorName("Gödel", "Kurt").key == "kurt-godel"
    assert AuthorName("O'Neil", "Cathy").key == "cathy-o-neil"
    assert AuthorName("Gödel", "Kurt").display == "Kurt Gödel"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Matthias Nießner", "matthias-niessner"),
        ("Łukasz Kaiser", "lukasz-kaiser"),
        ("Søren Højsgaard", "soren-hojsgaard"),
        ("ÆSA ŒUF", "aesa-oeuf"),
        ("Đorđe Þór Guðmundsson", "dorde-thor-gudmundsson"),
        ("Işıl İlker", "isil-ilker"),  # noqa: RUF001
        ("Ǿrsted Ŋama", "orsted-ngama"),
        ("Tolúlọpé Ògúnrèmí", "tolulope-ogunremi"),
        # Non-ASCII punctuation is dropped, as it always was.
        ("O’Brien Col·lell", "obrien-collell"),  # noqa: RUF001
        ("Jean-Pierre d'Arc_II", "jean-pierre-d-arc-ii"),
        ("Ｆｕｌｌ ﬁnn", "full-finn"),  # noqa: RUF001
        ("Γιώργος Παπαδόπουλος", "γιώργος-παπαδόπουλος"),
        ("Иван Йорданов", "иван-йорданов"),
        ("张伟", "张伟"),
        ("Kim Min-jun (김민준)", "kim-min-jun-김민준"),
        ("हिन्दी नाम", "हिन्दी-नाम"),  # a vowel sign is part of its letter, no separator
        ("!!!", "unknown"),
    ],
)
def test_author_key_keeps_every_letter(name: str, key: str) -> None:
    assert slugify_name(name) == key


def test_names_in_other_scripts_do_not_share_a_key() -> None:
    names = ["张伟", "李伟", "Γιώργος", "Γιωργος", "Йорданов", "Иорданов", "ガガ", "カカ"]
    assert len({slugify_name(n) for n in names}) == len(names)


def test_split_authors_drops_affiliations() -> None:
    names = split_authors("Salman Habib (LANL), Robert D. Ryne ((1) MIT, (2) CERN) and C. Three")
    assert [n.display for n in names] == ["Salman Habib", "Robert D. Ryne", "C. Three"]


def test_title_whitespace_is_normalised_and_abstract_tex_kept() -> None:
    r = record(title="  A  title\n  on two lines ", abstract="  $x<y$ &amp; \\emph{z}\n")
    assert r.title == "A title on two lines"
    assert r.abstract == "$x<y$ &amp; \\emph{z}"


def test_versioned_id_sets_the_version_and_versions_set_dates() -> None:
    v1 = dt.datetime(2025, 1, 2, 10, tzinfo=dt.UTC)
    v2 = dt.datetime(2025, 3, 4, 10, tzinfo=dt.UTC)
    r = record(arxiv_id="2501.00001v2", versions=[Version(2, v2), Version(1, v1)])
    assert (r.arxiv_id, r.version, r.published, r.updated) == ("2501.00001", 2, v1, v2)


def test_published_is_v1_s_date_never_a_later_version_s() -> None:
    v1, v2, v3 = (dt.datetime(2025, m, 2, 10, tzinfo=dt.UTC) for m in (1, 3, 5))
    out_of_order = record(versions=[Version(3, v3), Version(1, v1), Version(2, v2)])
    assert (out_of_order.published, out_of_order.updated, out_of_order.version) == (v1, v3, 3)
    starts_later = record(versions=[Version(3, v3), Version(2, v2)])
    assert (starts_later.published, starts_later.updated, starts_later.version) == (None, v3, 3)
    # A date the source gives for v1 (the API's <published>, OAI's <created>) is kept.
    assert record(versions=[Version(2, v2)], published=v1).published == v1


def test_content_hash_tracks_content() -> None:
    assert record().content_hash() == record().content_hash()
    assert record().content_hash() != record(abstract="Other.").content_hash()
    assert record().content_hash() != record(authors=[AuthorName("Doe", "John")]).content_hash()


def test_merge_keeps_what_the_source_does_not_know() -> None:
    stored = dict.fromkeys(PaperRecord.MERGEABLE) | {"license": "CC BY 4.0", "announced": dt.date(2025, 1, 3)}
    merged = record(announced=dt.date(2025, 2, 1)).merged_with(stored)
    assert merged.license == "CC BY 4.0"
    assert merged.announced == dt.date(2025, 1, 3)  # the first announcement stays


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Code: https://github.com/foo/bar.", [("github", "https://github.com/foo/bar")]),
        ("see github.com/foo/bar_baz)", [("github", "https://github.com/foo/bar_baz")]),
        ("\\url{https://github.com/a\\_b/c}", [("github", "https://github.com/a_b/c")]),
        ("(https://gitlab.com/x/y)", [("gitlab", "https://gitlab.com/x/y")]),
        (
            "weights at https://huggingface.co/org/model, data",
            [("huggingface", "https://huggingface.co/org/model")],
        ),
        ("Project page: https://foo.github.io/bar/", [("project", "https://foo.github.io/bar/")]),
        ("www.example.org/proj;", [("project", "https://www.example.org/proj")]),
        ("See https://arxiv.org/abs/2501.00001 and https://doi.org/10.1/x", []),
        ("mail me@github.com/x", []),
        ("no links at all", []),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", [("project", "https://en.wikipedia.org/wiki/Foo_(bar)")]),
    ],
)
def test_extract_links(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(lk.kind, lk.url) for lk in extract_links(text, "abstract")] == expected


def test_links_from_abstract_and_comments_are_deduplicated() -> None:
    r = record(abstract="Code at https://github.com/a/b.", comments="Code: https://github.com/a/b")
    assert [(lk.url, lk.source) for lk in r.links()] == [("https://github.com/a/b", "abstract")]


@pytest.mark.parametrize(
    ("submitted", "listed"),
    [
        ("2025-03-17T13:00:00-04:00", "2025-03-18"),  # Monday before the 14:00 ET cut-off
        ("2025-03-17T15:00:00-04:00", "2025-03-19"),  # Monday after it
        ("2025-03-20T10:00:00-04:00", "2025-03-21"),  # Thursday -> Friday's listing
        ("2025-03-21T10:00:00-04:00", "2025-03-24"),  # Friday, announced Sunday night -> Monday
        ("2025-03-21T15:00:00-04:00", "2025-03-25"),  # Friday after the cut-off -> Tuesday
        ("2025-03-22T12:00:00-04:00", "2025-03-25"),  # Saturday -> Tuesday
    ],
)
def test_estimate_announcement(submitted: str, listed: str) -> None:
    assert estimate_announcement(dt.datetime.fromisoformat(submitted)) == dt.date.fromisoformat(listed)


def test_an_estimated_announcement_never_replaces_a_known_one() -> None:
    known = {"announced": dt.date(2025, 1, 9)}
    estimate = record(announced=dt.date(2025, 1, 7), extra={"announced_estimated": True})
    assert estimate.merged_with(known).announced == dt.date(2025, 1, 9)
    assert estimate.merged_with({"announced": None}).announced == dt.date(2025, 1, 7)
    # An exact date still wins when it is earlier, and the hash ignores the date either way.
    exact = record(announced=dt.date(2025, 1, 8))
    assert exact.merged_with(known).announced == dt.date(2025, 1, 8)
    assert exact.content_hash() == estimate.content_hash()


def test_punctuation_is_not_an_author() -> None:
    # arXiv's authors_parsed for "GLM-V Team, :, Wenyi Hong" (a real record) lists ":" as a name.
    rec = record(authors=[AuthorName("Team", "GLM-V"), AuthorName(":"), AuthorName("Hong", "Wenyi")])
    assert [a.display for a in rec.authors] == ["GLM-V Team", "Wenyi Hong"]
    assert [a.display for a in record(authors=[AuthorName("李", "明")]).authors] == [
        "明 李"
    ]  # letters, any script


def test_msc_and_acm_classes_are_not_categories() -> None:
    # As the snapshot lists them (2503.11954 and others): arXiv categories, then MSC and ACM
    # classes, sometimes with the words of a class's title.
    raw = "eess.IV cs.AI cond-mat.mes-hall hep-th 94A29, 68T01 I.4.2; E.4; I.2.7 deep learning".split()  # noqa: SIM905
    assert record(categories=raw).categories == ["eess.IV", "cs.AI", "cond-mat.mes-hall", "hep-th"]


def test_a_date_only_value_keeps_a_precise_time_of_the_same_day() -> None:
    utc = dt.UTC
    precise = dt.datetime(2025, 3, 25, 12, 0, tzinfo=utc)
    day = record(published=dt.datetime(2025, 3, 25, tzinfo=utc), extra={"day_only": ("published", "updated")})
    stored = {"published": precise, "updated": None}
    merged = day.merged_with(stored)
    assert merged.published == precise
    assert merged.content_hash() == record(published=precise).content_hash()  # no change to store
    # Stored in another zone, still the same UTC day: kept.
    eastern = precise.astimezone(dt.timezone(dt.timedelta(hours=-4)))
    assert day.merged_with({"published": eastern}).published == eastern
    # Another day is news, and a source that knows the time replaces a stored midnight.
    other = dt.datetime(2025, 3, 24, 12, 0, tzinfo=utc)
    assert day.merged_with({"published": other}).published == dt.datetime(2025, 3, 25, tzinfo=utc)
    midnight = {"published": dt.datetime(2025, 3, 25, tzinfo=utc)}
    assert record(published=precise).merged_with(midnight).published == precise


def test_an_oai_record_decodes_tex_in_its_author_names() -> None:
    xml = (
        '<arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>2606.00001</id><created>2026-06-30</created>'
        "<authors><author><keyname>M\\\"uller</keyname><forenames>Jos\\'e</forenames></author>"
        "<author><keyname>O\\'Brien</keyname><forenames>{\\L}ukasz</forenames></author>"
        "<author><keyname>\\c{C}etin</keyname><forenames>Ay\\c{s}e</forenames></author></authors>"
        "<title>T</title><categories>cs.LG</categories></arXiv>"
    )
    r = oai.parse_metadata(etree.fromstring(xml))
    assert [(a.keyname, a.forenames, a.key) for a in r.authors] == [
        ("Müller", "José", "jose-muller"),
        ("O'Brien", "Łukasz", "lukasz-o-brien"),
        ("Çetin", "Ayşe", "ayse-cetin"),
    ]
