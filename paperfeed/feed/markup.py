"""Comments: Markdown with TeX, rendered once at write time and sanitised with an allow-list.

TeX spans ($…$, $$…$$, \\(…\\), \\[…\\]) are lifted out before Markdown runs (so `a_1 b_2` inside
math never turns into emphasis) and put back, HTML-escaped, inside <span class="math">, which
KaTeX renders in the browser with trust:false. A comment's $…$ is read as Markdown reads it
(MATH), not as arXiv's abstracts are (papers.tex.SPAN): a person who types prices means prices.
Raw HTML in the source is never passed through: Markdown escapes it, and nh3 (an allow-list
sanitiser) has the last word: no script, style, event handlers or javascript: URLs; links get
rel="nofollow ugc".

A comment keeps the MARKUP_VERSION its HTML was rendered by (feed.models.Comment.markup_version):
one rendered by other rules is rendered again when it is read and by `paperfeed comments rerender`,
which `paperfeed init` runs after its migrations, so a change of rules reaches every comment.
"""

from __future__ import annotations

import functools
import html
import re
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# The rules' version: bump it with any change to what render_comment makes of some text (these
# patterns, the Markdown options, the allow-list), and every stored comment is rendered again (see
# above). 0 is what comments rendered before the version was kept are marked: by rules unknown.
# 1: the rules of 2026-12-02 (commits 338cd3f, $…$ as Markdown reads it, and e4e50b4, backtick runs).
MARKUP_VERSION = 1

# Fenced blocks (``` or ~~~, to the matching fence or the end), then inline code (`…`, ``…``). A run
# of backticks is taken whole and only from its start, and not after a backslash (an escaped backtick
# opens none): trying each shorter run at each of its backticks made a line of 10,000 quadratic (0.9 s CPU).
_CODE = re.compile(
    r"^ {0,3}(`{3,}+|~{3,}+)[^\n]*+\n.*?(?:^ {0,3}\1[`~]*[ \t]*$|\Z)|(?<![`\\])(`++).+?(?<!`)\2(?!`)",
    re.S | re.M,
)
# A comment's TeX, its groups the TeX without delimiters as in papers.tex.SPAN: 1 $$…$$ and 2 \[…\]
# (display), 3 \(…\), 4 $…$. SPAN pairs an abstract's "$" as the browser's KaTeX auto-render does,
# padded formulas included ($ r \geq s-1$), and so took "It costs 5$ and 10$ per run." for the
# formula " and 10". A comment's $…$ is the Markdown its writer types (pandoc's tex_math_dollars):
# the opening "$" has a non-space after it, the closing one (the next "$" not escaped) a non-space
# before it and no digit after it, and \$ is a dollar. Here a "$" right after a digit opens a formula
# only before a script or a command, as TeX's writers put units and orders (10$^{-17}$, 24$^{th}$,
# 2$\times$): "5$, 10$ or 20$" and "10$/run and 20$/run" are prices (pandoc made ", 10" and "/run
# and 20" formulas). Money needs no rule of its own: the "$" of a price tex._MONEY knows
# ($5 per hour and $10) has no closing "$" next by these rules. A \[ or \( runs to its closer with
# no opener of its own inside, so each character is scanned once: SPAN's lazy scan ran to the end
# from every opener (a 10,000-character comment of "\[": 0.4 s CPU).
MATH = re.compile(
    r"\$\$(.+?)\$\$"
    r"|\\\[((?:[^\\]|\\[^\[])+?)\\\]"
    r"|\\\(((?:[^\\]|\\[^(])+?)\\\)"
    r"|(?<!\\)(?:(?<!\d)|(?=\$[\^_\\{]))\$(?![\s$])((?:\\.|[^$\n\\])++)(?<!\s)\$(?!\d)",
    re.S,
)


# The renderer and the sanitiser are loaded by the first comment rendered, not by the models that
# import MARKUP_VERSION: every process sets the models up, and most never render a comment.
@functools.cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


ALLOWED_TAGS = {
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
}


def render_comment(source: str) -> str:
    maths: list[tuple[str, bool]] = []
    nonce = secrets.token_hex(6)  # so text that merely looks like a placeholder stays text

    def lift(m: re.Match[str]) -> str:
        display = m.group(1) is not None or m.group(2) is not None
        maths.append((next(g for g in m.groups() if g is not None), display))
        return f"MATH{nonce}N{len(maths) - 1}X"

    # Code is code: TeX-looking text inside a fence or backticks stays as typed. The code is set
    # aside while the math is lifted out, then put back for Markdown to render.
    codes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        codes.append(m.group(0))
        return f"CODE{nonce}N{len(codes) - 1}X"

    text = MATH.sub(lift, _CODE.sub(keep, source))
    text = re.sub(rf"CODE{nonce}N(\d+)X", lambda m: codes[int(m.group(1))], text)
    import nh3

    rendered = _markdown().render(text)
    clean = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow ugc noopener",
        strip_comments=True,
    )

    def put_back(m: re.Match[str]) -> str:
        i = int(m.group(1))
        if i >= len(maths):
            return m.group(0)
        math, display = maths[i]
        return f'<span class="math{" display" if display else ""}">{html.escape(math)}</span>'

    return re.sub(rf"MATH{nonce}N(\d+)X", put_back, clean)
