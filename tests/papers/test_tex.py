"""Excerpts keep TeX spans whole and unmarked, so the browser's KaTeX can render every one."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperfeed.papers import tex

ABSTRACT = "We bound the error by $O(n^{-1/2})$ for a kernel estimator, with $\\pi^2$ factors."


def test_spans_find_each_kind_and_skip_escaped_dollars() -> None:
    text = r"a $x$ b $$y$$ c \(z\) d \[w\] e \$5 and \$6"
    assert [text[a:b] for a, b in tex.spans(text)] == ["$x$", "$$y$$", r"\(z\)", r"\[w\]"]
    assert tex.spans("plain words only") == []


def test_no_mark_inside_tex() -> None:
    at = ABSTRACT.index("n^")
    pi = ABSTRACT.index("pi")
    error = ABSTRACT.index("error")
    out = tex.excerpt_html(ABSTRACT, [(error, error + 5), (at, at + 1), (pi, pi + 2)])
    assert out.count("<mark>") == 1 and "<mark>error</mark>" in out
    assert "$O(n^{-1/2})$" in out and "$\\pi^2$" in out


def test_a_window_edge_inside_tex_moves_to_keep_the_span_whole() -> None:
    inside = ABSTRACT.index("n^")
    out = tex.excerpt_html(ABSTRACT, [], inside, ABSTRACT.index("pi") + 1)
    assert out.startswith("… $O(n^{-1/2})$") and out.endswith("$\\pi^2$ …")


def test_a_span_too_long_to_finish_is_left_out() -> None:
    long_math = "intro $" + "x+" * 200 + "y$ outro"
    out = tex.excerpt_html(long_math, [], 0, 20)
    assert out == "intro  …"


def test_text_is_escaped() -> None:
    assert tex.excerpt_html("<b>$a<b$</b>", []) == "&lt;b&gt;$a&lt;b$&lt;/b&gt;"


@given(st.text(alphabet="ab $\\()[]", max_size=300), st.integers(0, 300), st.integers(0, 300))
def test_a_window_never_cuts_a_span(text: str, lo: int, hi: int) -> None:
    lo, hi = sorted((min(lo, len(text)), min(hi, len(text))))
    spans = tex.spans(text)
    new_lo, new_hi = tex.window(spans, lo, hi)
    assert new_lo <= lo and new_lo <= new_hi
    assert not any(a < new_lo < b or a < new_hi < b for a, b in spans)


def test_plain_spells_tex_in_plain_characters_for_titles() -> None:
    for source, expected in [
        ("GUI-C$^2$: Coarse-to-Fine\n  Grounding", "GUI-C²: Coarse-to-Fine Grounding"),
        (ABSTRACT, "We bound the error by O(n^(-1/2)) for a kernel estimator, with π² factors."),
        (r"$\mathcal{O}(\log n)$ time on $\mathbb{R}^n$", "O(log n) time on Rⁿ"),
        (
            r"$x_{10}$, $x_i$, $x^{\alpha}$, $\ell_1$-norm \(k\)-NN $$E=mc^2$$",
            "x₁₀, x_i, x^α, ℓ₁-norm k-NN E=mc²",  # noqa: RUF001
        ),
        (r"Schr\"odinger meets {\'E}cole: $SU(3)\times U(1)$", "Schrödinger meets École: SU(3)×U(1)"),  # noqa: RUF001
        (r"Costs \$5 \& 3$\,$K", "Costs $5 & 3 K"),
        ("No TeX <b>here</b>", "No TeX <b>here</b>"),  # escaping is the template's job
        ("", ""),
    ]:
        assert tex.plain(source) == expected, source


def test_plain_spells_prose_tex_of_abstracts() -> None:
    for source, expected in [
        ("Vision Transformer~(ViT) beats CNNs", "Vision Transformer (ViT) beats CNNs"),
        (
            r"learns \mbox{token and context embeddings} jointly",
            "learns token and context embeddings jointly",
        ),
        (r"\emph{Not} \textit{all} \textbf{bold \emph{nested}}", "Not all bold nested"),
        (r"\textbf{$x^{2}$ wins} {\em old style}", "x² wins old style"),
        (r"as shown before~\cite{vaswani2017,devlin2019}.", "as shown before."),
        (r"prior work \citep[see][p.~3]{k} and \citet{j}", "prior work and"),
        ("``quoted'' text, 1990--2000 --- a dash", "\u201cquoted\u201d text, 1990\u20132000 \u2014 a dash"),
        (
            "code at https://host.example/~user/a--b~c and www.lab.example/~me, see~it",
            "code at https://host.example/~user/a--b~c and www.lab.example/~me, see it",
        ),
        (r"$a~b$ and \emph{unclosed", r"a b and \emph{unclosed"),  # an unmatched brace stays as written
        ("it's fine - and x-y", "it's fine - and x-y"),
        (r"resources. \\ \textbf{Results:} The", "resources. Results: The"),  # a line break (2604.25374)
    ]:
        assert tex.plain(source) == expected, source


@given(st.text(alphabet="ab $^_{}\\\"'()x2\n~-`\\mbox{cite}", max_size=60))
def test_plain_takes_any_text_and_gives_one_line(text: str) -> None:
    out = tex.plain(text)
    assert out == " ".join(out.split())


# --- accents ---------------------------------------------------------------------------------------

NAMES = [
    # The five names of the Kaggle snapshot that carry TeX, as its authors_parsed writes them.
    ("Tolúl\\d{o}pé", "Tolúlọpé"),
    ("St\\ütz", "Stütz"),  # a backslash before a letter already accented is stray
    ("Aakur\\\\", "Aakur"),
    ("\\\\Ajinkya Umesh", "Ajinkya Umesh"),
    ("Nguy\\~ên", "Nguyễn"),
    # What arXiv's OAI-PMH formats carry.
    ('M\\"uller', "Müller"),
    ('M\\"{u}ller', "Müller"),
    ("Jos\\'e", "José"),
    ("{\\L}ukasz", "Łukasz"),
    ("\\c{C}etin", "Çetin"),
    ("\\c C", "Ç"),
    ("O\\'Brien", "O'Brien"),  # a B takes no acute: the writer escaped an apostrophe
    ("D\\'Alessandro", "D'Alessandro"),
    ("\\'Alvaro", "Álvaro"),
    ("GARC\\'IA", "GARCÍA"),
    ("Nguy\\~\\^en", "Nguyễn"),  # accents stack
    ("D\\'\\i az", "Díaz"),  # dotless i takes the accent
    ("Mart\\'{\\i}nez", "Martínez"),
    ("Erd\\H{o}s", "Erdős"),
    ("\\v{S}koda", "Škoda"),
    ("Wa{\\l}{\\k{e}}sa", "Wałęsa"),
    ("Stra{\\ss}e", "Straße"),
    ("Stra\\ss e", "Straße"),
    ("{\\O}stergaard", "Østergaard"),
    ('\\AA{}sa Bj\\"ork', "Åsa Björk"),
    ("\\u{a}\\r{a}\\={o}\\.{z}\\b{b}\\^o\\`e\\ae\\AE\\oe\\OE\\aa\\o\\j", "ăåōżḇôèæÆœŒåøȷ"),
    ("Plain Name", "Plain Name"),
]


@pytest.mark.parametrize(("source", "expected"), NAMES)
def test_decode_name_gives_nfc_letters(source: str, expected: str) -> None:
    got = tex.decode_name(source)
    assert got == expected and unicodedata.is_normalized("NFC", got)


def test_decode_accents_keeps_every_other_command() -> None:
    source = r"Schr\"odinger $\omega\in\Lambda$ \emph{d\'Alembert} \\ 5 \AA{} and \'{}"
    assert tex.decode_accents(source) == r"Schrödinger $\omega\in\Lambda$ \emph{d'Alembert} \\ 5 Å and '"
    # Abstracts of the snapshot: "\b geometric" (meant bold), \r{ho} and \b{eta} (a mangled \rho, \beta).
    assert tex.decode_accents(r"named \b geometric, \r{ho} = 0.9, \b{eta}-VAE") == (
        r"named \b geometric, \r{ho} = 0.9, \b{eta}-VAE"
    )
    assert tex.decode_accents(r"\o, \L, \i: \omega \Lambda \in") == "ø, Ł, \u0131: \\omega \\Lambda \\in"


def test_plain_composes_accents_in_text() -> None:
    for source, expected in [
        (r"O\'Brien's Erd\H{o}s numbers", "O'Brien's Erdős numbers"),
        (r"Nguy\~\^en, \c{C}etin and {\L}ukasz: Schr\"{o}dinger", "Nguyễn, Çetin and Łukasz: Schrödinger"),
        (r"L'H\^opital at 5 \AA{} and $\ell_1$", "L'Hôpital at 5 Å and ℓ₁"),
    ]:
        assert tex.plain(source) == expected, source


@pytest.mark.parametrize(
    ("source", "shown"),
    [  # each from the real records (arXiv id), trimmed
        (
            r"we propose \textbf{Personalize Anything}, a 40\% pruning rate",
            "we propose Personalize Anything, a 40% pruning rate",
        ),  # 2503.12590
        (
            r"1.4k complex reasoning Q\&A on ShanghaiTech Part \_A",
            "1.4k complex reasoning Q&A on ShanghaiTech Part _A",
        ),
        (
            r"named \b geometric \b score-based \b black-box attack",
            "named geometric score-based black-box attack",
        ),  # 2503.12827
        (
            r"Code is available at \href{https://github.com/x/causal}{GitHub}.",
            "Code is available at GitHub (https://github.com/x/causal).",
        ),
        (
            r"accessed at~\url{https://huggingface.co/inclusionAI}.",
            "accessed at https://huggingface.co/inclusionAI.",
        ),
        (
            r"this vibrant field\footnote{https://github.com/y/Awesome}.",
            "this vibrant field (https://github.com/y/Awesome).",
        ),
        (
            r"including 360{\deg} rotation, (\eg, average pool), \emph{\ie}, B\'ezier",
            "including 360° rotation, (e.g., average pool), i.e., Bézier",
        ),
        (r"available at \textcolor{red}{https://github.com/z}", "available at https://github.com/z"),
        (
            r"an under-investi\-gated technique, {\em backdoor attacks}, {\bf RainFusion}",
            "an under-investigated technique, backdoor attacks, RainFusion",
        ),
        (r"within 10 {\mu}m, R2 = 0.60 \pm 0.05, {\alpha}-UMI", "within 10 μm, R2 = 0.60 ± 0.05, α-UMI"),  # noqa: RUF001
        (r"benchmark~\cite{yang2022openood}. PM\textsuperscript{4}Bench", "benchmark. PM⁴Bench"),
    ],
)
def test_prose_turns_the_tex_auto_render_leaves_raw_into_text(source: str, shown: str) -> None:
    assert tex.prose(source) == shown


def test_prose_leaves_formulas_and_escaped_dollars_for_katex() -> None:
    # A formula inside \textbf{…} is one argument (2503.20537), and nothing inside a formula changes.
    assert tex.prose(r"is \textbf{4.75 $\times$} faster") == r"is 4.75 $\times$ faster"
    source = r"being $\mathrm{100 \times faster}$ with $\text{m}$ and \(\textbf{x}\) and $$\emph{y}\%$$"
    assert tex.prose(source) == source
    # \$ is a dollar in an element of its own once escaped: in the text, a "$" would open a formula
    # for auto-render (paired with the next "$", here the formula's).
    shown = tex.prose(r"59.4K GPU hours (\$148K), \textbf{cheap} for $x$")
    assert shown == f"59.4K GPU hours ({tex.DOLLAR}148K), cheap for $x$"  # 2505.09343
    assert tex.excerpt_html(shown, []) == '59.4K GPU hours (<span class="dollar">$</span>148K), cheap for $x$'
    assert tex.prose(f"a forged {tex.DOLLAR} stays text") == "a forged  stays text"
    assert tex.prose("no TeX at all & <b>") == "no TeX at all & <b>"  # text: the template escapes it
    assert tex.prose("a \0 NUL $x$ \\% b") == "a  NUL $x$ % b"


@pytest.mark.parametrize(
    ("source", "shown"),
    [  # authors' own macros, from the real records, trimmed
        (r"structure. \method consistently outperforms", "structure. method consistently outperforms"),
        (r"confirm that \ours{} generates motion graphics", "confirm that ours generates motion graphics"),
        (r"we propose the {\dataset} benchmark", "we propose the dataset benchmark"),
        (r"we introduce \veomni, a modular framework", "we introduce veomni, a modular framework"),
        (r"at \small https://x.io and {\large D}ata", "at https://x.io and {D}ata"),  # switches say nothing
        (r"a range of $0.4$ \sim 2.5, $y$ \in [0, 1]", "a range of $0.4$ ~ 2.5, $y$ ∈ [0, 1]"),
        # Not macros of a name: commands with an argument, one letter ("\n\n" quoted), a line break.
        (r"\rev{We evaluate} the \gls{UltrON}", r"\rev{We evaluate} the \gls{UltrON}"),
        (r'delimiters like "\n\n", serving', r'delimiters like "\n\n", serving'),
    ],
)
def test_prose_gives_an_authors_own_macro_its_name(source: str, shown: str) -> None:
    assert tex.prose(source) == shown


@pytest.mark.parametrize(
    ("source", "shown"),
    [  # TeX's line break, from the real records (arXiv id), trimmed; it was "\\ " -> "\\ "
        (
            r"open Dutch medical resources. \\ \textbf{Results:} The",
            "open Dutch medical resources. Results: The",
        ),
        (
            r"minimal task-specific adaptation. \\ Our results show",
            "minimal task-specific adaptation. Our results show",
        ),
        (r"muscat-eval \\ \newline \Keywords", "muscat-eval Keywords"),  # 2604.15929
        (r"one\\two\\*three \\", "one two three "),
        # Not in a formula, where KaTeX takes it; nor a control space "\ ".
        (r"$a \\ b$ and Fig.\ 2", r"$a \\ b$ and Fig. 2"),
    ],
)
def test_prose_makes_a_line_break_a_space(source: str, shown: str) -> None:
    assert tex.prose(source) == shown


def test_prose_takes_a_formula_wrapped_over_lines_for_a_formula() -> None:
    # The abstract's hard wrap falls inside the formula, which KaTeX gets whole (the page joins lines).
    source = "a bound $\\tilde{O}(d\\sqrt{T} \\wedge\n (V^2T))$ by \\ours"
    assert tex.prose(source) == "a bound $\\tilde{O}(d\\sqrt{T} \\wedge  (V^2T))$ by ours"


@pytest.mark.parametrize(
    ("source", "shown"),
    [  # TeX's typography in prose, hand-written in the records' shapes
        (
            "a 1990--2000 span, a phenomenon--Fusion, a break --- here",
            "a 1990–2000 span, a phenomenon–Fusion, a break — here",  # noqa: RUF001
        ),
        ("kept: GTA V --> Cityscapes, A<--B, a ---- rule", "kept: GTA V --> Cityscapes, A<--B, a ---- rule"),
        ("the ``Sampling Dilemma'': and ''visual density''", "the “Sampling Dilemma”: and “visual density”"),
        ("a \"one-click fix'' and ``left\" or ''right\"", "a “one-click fix” and “left” or “right”"),
        ("an empty string '' stays, ```code``` too", "an empty string '' stays, ```code``` too"),
        (
            "Table~1, generation~(RAG), e.g.~8, ours~ achieves and ~binary",
            "Table 1, generation (RAG), e.g. 8, ours  achieves and  binary",
        ),
        ("about ~50% and (~21%), a range 3~5 or 60%~70%", "about ~50% and (~21%), a range 3~5 or 60%~70%"),
        ("see https://host.example/~user/a--b and ``x''", "see https://host.example/~user/a--b and “x”"),
        (
            r"in $a--b$ and $f''(x)$ with \emph{x}--y",
            r"in $a--b$ and $f''(x)$ with x–y",  # noqa: RUF001
        ),  # formulas untouched
    ],
)
def test_prose_sets_dashes_quotes_and_ties(source: str, shown: str) -> None:
    assert tex.prose(source) == shown


@pytest.mark.parametrize(
    ("source", "shown"),
    [  # a doubled backslash before a known command or sign is one (2509.08780's "86\\%")
        (r"the best results (86\\% accuracy)", "the best results (86% accuracy)"),
        (r"tasks (\\eg, pooling) and \\textbf{bold}", "tasks (e.g., pooling) and bold"),
        (r"one\\two stays a line break", "one two stays a line break"),
        # a Greek letter split into an accent and the rest of its name
        (
            r"low filtering (\r{ho} = 0.34), \b{eta}-chain, (\k{appa}_i)",
            "low filtering (ρ = 0.34), β-chain, (κ_i)",  # noqa: RUF001
        ),
        (r"a \r{ab} stays", r"a \r{ab} stays"),
        # escaped braces, the italic correction and the space factor
        (
            r"a compact \{3, 8\}B model, a priori\/ and i.i.d.\@ data, mAP\@0.50",
            "a compact {3, 8}B model, a priori and i.i.d. data, mAP@0.50",
        ),
    ],
)
def test_prose_repairs_what_the_records_encoding_mangled(source: str, shown: str) -> None:
    assert tex.prose(source) == shown


def test_plain_sets_the_same_typography_and_repairs() -> None:
    assert tex.plain(r"86\\% in 1990--2000, ``q'', Table~1, ~5%") == "86% in 1990–2000, “q”, Table 1, ~5%"  # noqa: RUF001


@pytest.mark.parametrize(
    ("source", "shown"),
    [  # a doubled backtick opens a quote wherever a word follows it; it closes only ``word`` at a word's end
        ("a <i>``word''</i> here", "a <i>\u201cword\u201d</i> here"),
        ("so-called--``x'' and /``y''", "so-called\u2013\u201cx\u201d and /\u201cy\u201d"),
        ("note:``z'', 'a'``b''", "note:\u201cz\u201d, 'a'\u201cb\u201d"),
        ("the ``word`` and ``word``.", "the \u201cword\u201d and \u201cword\u201d."),
        ("x ''y'' (''z'')", "x \u201cy\u201d (\u201cz\u201d)"),
    ],
)
def test_a_doubled_backtick_after_markup_or_punctuation_opens_a_quote(source: str, shown: str) -> None:
    assert tex.prose(source) == tex.plain(source) == shown


@pytest.mark.parametrize(
    ("source", "shown"),
    [  # the records' text-mode TeX, hand-written in their shapes
        (r"Transformer with 1\textpertenthousand Spatial Sampling", "Transformer with 1‱ Spatial Sampling"),
        (r"group-annotated data (5\textperthousand).", "group-annotated data (5‰)."),
        (r"PM\textsuperscript{4}Bench and M\textsuperscript{92}", "PM⁴Bench and M⁹²"),
        (r"mAP\textsubscript{50} and mAP\textsubscript{50:95}", "mAP₅₀ and mAP50:95"),
        # not every character has a Unicode script: the text as it is
        (r"the 5\textsuperscript{th} and F\textsubscript{Hard}", "the 5th and FHard"),
        (r"DESIGN-R\textsuperscript{\textregistered} Assessment", "DESIGN-R® Assessment"),
        (r"an error of 0.0226\textmu m, AUC@20\textdegree, x", "an error of 0.0226µm, AUC@20°, x"),
        (r"masked \texttt{\textless EOS\textgreater} loss", "masked <EOS> loss"),
        (r"adds \textless0.1\% FLOPs, (\textasciitilde\,0.2\%)", "adds <0.1% FLOPs, (~ 0.2%)"),
        (r"overoptimization\textemdash a phenomenon", "overoptimization— a phenomenon"),
        (r"in LRL{\textrightarrow}Chinese, GS\textasciicircum2", "in LRL→Chinese, GS^2"),
        (r"e.g.\ \texttt{\textbackslash boxed\{}", r"e.g. \boxed{"),
        (
            r"by the \textquote{semantic gap}, a \enquote{geometric shortcut}",
            "by the “semantic gap”, a “geometric shortcut”",
        ),
        (r"(35 U.S.C {\S} 112(b)), {\dag} equal", "(35 U.S.C § 112(b)), † equal"),
    ],
)
def test_text_mode_symbols_and_scripts_are_their_characters(source: str, shown: str) -> None:
    # The author-macro rule made them "1textpertenthousand" and "M4Fuse"; mail and the terminal (plain)
    # showed them raw.
    assert tex.prose(source) == tex.plain(source) == shown


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        (
            "Self--Supervised ``Zero-Shot'' Learning --- a Survey",
            "Self–Supervised “Zero-Shot” Learning — a Survey",  # noqa: RUF001
        ),
        ("\"Is There Anything Else?'': Examining", "“Is There Anything Else?”: Examining"),
        (
            r"Dr.~RTL: \textsc{T-Mask} \& M\textsuperscript{4}Fuse for Schr\"odinger",
            "Dr. RTL: T-Mask &amp; M⁴Fuse for Schrödinger",
        ),
        # formulas are KaTeX's, untouched; an escaped dollar is one auto-render takes for no formula's start
        (r"GUI-C$^2$ in $a--b$ with \$100", 'GUI-C$^2$ in $a--b$ with <span class="dollar">$</span>100'),
        # escaped: user text stays inert, whatever its TeX
        (
            "A <script>alert('x--y')</script> \\textbf{<b>bold</b>}",
            "A &lt;script&gt;alert(&#x27;x–y&#x27;)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;",  # noqa: RUF001
        ),
        ("A title wrapped\n  over two lines", "A title wrapped over two lines"),
    ],
)
def test_prose_html_is_a_title_as_a_page_shows_it(title: str, shown: str) -> None:
    # Titles were shown as arXiv writes them: 449 of the 74,728 real ones with "--", 9 with "''".
    assert tex.prose_html(title) == shown


def test_a_long_run_of_spaces_after_an_old_font_switch_is_linear() -> None:
    # "{\em" then spaces and no "}" tried every split of the spaces: 40,000 took 42 s, 400,000 hours.
    spaces = " " * 400_000
    assert tex.prose("a {\\em" + spaces + "word") == "a {em" + spaces + "word"  # \em alone: a macro's name
    source = "a {\\em" + spaces + "word"
    assert tex.plain(source) == "a {em word"  # as prose has it
    assert tex.prose("a {\\em" + " " * 50_000 + "word}") == "a word"
