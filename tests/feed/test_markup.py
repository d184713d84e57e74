"""Comments: Markdown + TeX through an allow-list sanitiser (RELIABILITY S6, 3c corpus)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperfeed.feed.markup import render_comment

XSS = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "</textarea><script>alert(1)</script>",
    "{{7*7}}",
    "{% debug %}",
    "<style>body{display:none}</style>",
    "$</span><img src=x onerror=alert(1)>$",
    "$$<script>alert(1)</script>$$",
    r"$\href{javascript:alert(1)}{x}$",
]
ALLOWED = {
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "span",
}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_inert(html: str) -> None:
    """What a browser would build from `html`: only allowed elements, no handlers, no script URLs."""
    parser = _Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag in ALLOWED, html
        for name, value in attrs:
            assert not name.startswith("on") and name in {"href", "rel", "class", "title"}, html
            if name == "href":
                assert re.match(r"(https?:|mailto:)", value or "", re.I), html


@pytest.mark.parametrize("payload", XSS)
def test_payloads_come_out_inert(payload: str) -> None:
    assert_inert(render_comment(payload))


def test_markdown_tex_and_links() -> None:
    html = render_comment(
        "Nice: $E=mc^2$ and $a_1 + b_2$, **bold** [site](https://example.org)\n\n$$\\int_0^1 x$$"
    )
    assert '<span class="math">E=mc^2</span>' in html
    assert '<span class="math">a_1 + b_2</span>' in html  # no emphasis inside math
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.org" rel="nofollow ugc noopener">site</a>' in html
    assert '<span class="math display">\\int_0^1 x</span>' in html


def test_placeholder_lookalikes_stay_text() -> None:
    assert "MATHTOKEN0X" in render_comment("$x$ MATHTOKEN0X")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_renders_without_dangerous_markup(text: str) -> None:
    assert_inert(render_comment(text))


@pytest.mark.parametrize(
    ("source", "code", "math"),
    [
        ("Inline `$not math$` and $x^2$.", "<code>$not math$</code>", "x^2"),
        ("```\n# $not math$\n```\nthen $y$", "<code># $not math$\n</code>", "y"),
        ("~~~python\na = '$b$'\n~~~\n\n$c$", "<code>a = '$b$'\n</code>", "c"),
        ("``tick ` and $q$`` then $w$", "<code>tick ` and $q$</code>", "w"),
        ("`a $q$` then \\`$w$`", "<code>a $q$</code>", "w"),  # an escaped backtick opens no code
    ],
)
def test_tex_inside_code_stays_code(source: str, code: str, math: str) -> None:
    html = render_comment(source)
    assert code in html and f'<span class="math">{math}</span>' in html and html.count('class="math"') == 1


def maths(html: str) -> list[str]:
    return re.findall(r"<span class=\"math(?: display)?\">(.*?)</span>", html, re.S)


@pytest.mark.parametrize(
    "source",
    [
        # Postfix dollars: papers.tex.SPAN (as KaTeX's auto-render reads abstracts) took " and 10".
        "It costs 5$ and 10$ per run.",
        "10$/run and 20$/run",
        "5$, 10$ or 20$",
        # Prices.
        "$5 and $10",
        "It costs $5 per hour and $10 per day.",
        "$20,000-$30,000 a year",
        "$5/$10 plans",
        "$1.49 million, then Qwen 2.5 ($3 per hour)",
        # A "$" with a space inside it opens or closes nothing, as in Markdown.
        r"$ r \geq s-1$",
        "$ x$ and $y $",
        "a $ sign",
    ],
)
def test_prices_and_padded_dollars_stay_text(source: str) -> None:
    html = render_comment(source)
    assert maths(html) == [], html
    assert html.count("$") == source.count("$")  # every dollar shown as typed


@pytest.mark.parametrize(
    ("source", "math"),
    [
        (r"Sorting is $O(n \log n)$.", [r"O(n \log n)"]),
        (r"$$\sum_i x_i$$", [r"\sum_i x_i"]),
        (r"\(a\) and \[b\]", ["a", "b"]),
        (r"It costs $5 per hour, and $x$ more.", ["x"]),
        (r"costs \$5 and $x$", ["x"]),  # \$ is a dollar, paired with nothing
        (r"$\$270$ in total", [r"\$270"]),  # and inside a formula it is KaTeX's
        ("$a$$b$, $x_1$, and $2^{10}$.", ["a", "b", "x_1", "2^{10}"]),
        ("$n$-gram", ["n"]),
        # After a digit, a script or a command opens a formula: a unit's power, an order, a factor.
        (
            r"below 10$^{-17}$, the 24$^{\mathrm{th}}$ run, 2$\times$ faster",
            ["^{-17}", r"^{\mathrm{th}}", r"\times"],
        ),
        (r"\[ a \[ b \]", [" b "]),  # no \[ inside a \[…\]
        ("$$\na\nb\n$$", ["\na\nb\n"]),
    ],
)
def test_math_as_markdown_writes_it(source: str, math: list[str]) -> None:
    assert maths(render_comment(source)) == math


def test_display_and_escapes_as_before() -> None:
    html = render_comment(r"$$x<y$$ and \(a&b\), costs \$5")
    assert '<span class="math display">x&lt;y</span>' in html
    assert '<span class="math">a&amp;b</span>' in html
    assert "costs $5" in html


@pytest.mark.parametrize(
    "source",
    [
        "\\[" * 50_000,
        "\\(" * 50_000,
        "\\[a\\(" * 25_000,
        "$a " * 35_000,
        "$1" * 50_000,
        "$" * 100_000,
        "$$a" * 35_000,
        "$" + "\\" * 100_000,
        "5$ " * 35_000,
        "`" * 100_000,
        "~" * 100_000,
        "`a``" * 25_000,
        "\\``" * 35_000,
    ],
)
def test_adversarial_dollars_delimiters_and_backticks_are_linear(source: str) -> None:
    # No timing asserted: a quadratic scan of these (each opener to the end) would not finish in the
    # suite's time; 10,000 characters of "\[" took 0.4 s CPU with papers.tex.SPAN, 10,000 backticks 0.9 s.
    assert_inert(render_comment(source))
