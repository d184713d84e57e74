import pytest

from paperfeed.digests.addresses import InvalidAddress, display, normalise


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Alice@X.com", "alice@x.com"),
        ("  alice@x.com\u0020", "alice@x.com"),
        ("c@Bücher.de", "c@xn--bcher-kva.de"),  # IDN domain: its ASCII form, as SMTP needs it
        ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org"),
        ("x@example.org.", "x@example.org"),
    ],
)
def test_one_normal_form_per_mailbox(raw: str, stored: str) -> None:
    assert normalise(raw) == stored


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "Enter an email address"),
        ("   ", "Enter an email address"),
        ('"a b"@x.org', "Quoted addresses"),
        ("jörg@example.org", "SMTPUTF8"),
        ("a@b.org\r\nBcc: victim@c.org", "line breaks"),
        ("no-at-sign", "complete email address"),
        ("a@" + "b" * 260 + ".org", "too long"),
        ("a@-bad-.org", "valid email address"),
    ],
)
def test_refused_with_a_reason(raw: str, says: str) -> None:
    with pytest.raises(InvalidAddress, match=says):
        normalise(raw)


def test_display_decodes_the_domain() -> None:
    assert display("c@xn--bcher-kva.de") == "c@bücher.de"
    assert display("a@example.org") == "a@example.org"
