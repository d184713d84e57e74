"""TeX in paper text ($…$, $$…$$, \\(…\\), \\[…\\]): where its spans are, and excerpts that keep each
span whole. The browser's KaTeX renders a span only when it arrives in one piece: an excerpt cut
inside one, or a <mark> put inside one, leaves the reader raw TeX."""

from __future__ import annotations

import html
import re
import unicodedata

# A dollar that is money, not math: "$" and an amount (1,000 · 4.27 · 20M · 1,000+ · a range 1-2) then
# prose (a word, "million", "/hour", or punctuation before a word or the end), or "$/" and a unit
# ($/FLOP); and no "$" next on its line that would close a formula (one after a space or before an
# amount opens something else: "$5 per hour and $10", "$5 per hour, and $x$"). 113 in 96 of the 74,728
# records. An amount followed by "$" ($18.4$), a symbol or command ($4 - 7$, $2\times$), a word glued
# to "$" ($10 dB$) or a "$" that closes it ($\textbf{5 of 10}$) is math.
_AMOUNT = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[KMBTk]|bn)?\+?"
_MONEY = (
    rf"(?:{_AMOUNT}(?:(?:--?|\u2013){_AMOUNT})?(?:\s*(?:million|billion|trillion|thousand|USD|US)\b"
    r"|/[A-Za-z]{2,}|\s+[A-Za-z]{2,}(?![A-Za-z$])|[.,;:!?)]+(?:\s+[A-Za-z(]|\s*\Z))"
    r"|/(?:\d+[A-Za-z]?|[A-Za-z]{2,})\s)(?=[^$\n]*+(?:\Z|\n|(?<=\s)\$|\$(?=\d)))"
)

# The groups are the TeX without its delimiters: 1 $$…$$ and 2 \[…\] (display), 3 \(…\), 4 $…$.
# An inline formula is read as KaTeX's auto-render reads it, but for money: it opens on a "$" neither
# escaped nor money (_MONEY), also right after the "$" that closed another ($\sim$$3\times$) or before
# a space ($ T $) unless a letter is just before ("Modeling$ (WorldPM)": a stray, no opening), and
# runs to the next "$" not escaped ($\$270$). The pattern before 2026-12-02 (pandoc's: no space inside
# the delimiters, no "$" just before) missed 74 formulas of 48 of the 74,728 records that the browser
# rendered all the same, after prose had made their TeX text (\langle sent to KaTeX as "langle"); and
# it took three prices for formulas ("$1.49 million, then Qwen 2.5 ($").
# A brace group holding a formula of its own ($\textbf{$\boldsymbol{\infty}$Bench+}$, $\mbox{\boldmath
# $Y$}$: 2505.21471, 2604.03987) is part of the formula, as auto-render reads it (a "$" closes only
# outside braces) and KaTeX renders it (math in \text). Its parts stop at a brace or a "$", so a
# group that is not one costs the scan to the next of those, not the rest of the text.
_TEXT_PART = r"(?:\\.|[^{}$\\\n])*+"
_GROUP = rf"\{{{_TEXT_PART}(?:\$(?:\\.|[^{{}}$\\\n]|\{{(?:\\.|[^{{}}$\\\n])*+\}})++\${_TEXT_PART})++\}}"
_INLINE = r"(?<!\\)\$(?!" + _MONEY + r")(?!\s*\$)(?<![^\W\d_]\$(?=\s))((?:\\.|" + _GROUP + r"|[^$\n\\])+?)\$"
# A \[ or \( runs to its closer with no opener of its own inside, as comments' feed.markup.MATH does,
# so a scan from an opener with no closer stops at the next opener and each character is read about
# once: the lazy (.+?) ran to the end of the text from every such opener (10,000 "\[": 0.7 s CPU,
# now 0.8 ms; bench/README.md, "tex"). A \\[ or \\( is TeX's line break (\\[1.2ex] in a cases
# display), no opener. The same spans in all 74,728 records: none has an opener before another's
# closer. The lookbehind comes after the backslash so that the scan still skips to a "$" or "\".
SPAN = re.compile(
    r"\$\$(.+?)\$\$|\\(?<!\\\\)\[((?:(?!(?<!\\)\\\[).)+?)\\\]|\\(?<!\\\\)\(((?:(?!(?<!\\)\\\().)+?)\\\)|"
    + _INLINE,
    re.S,
)
# A "$" of prose that opens or closes no formula: auto-render would pair it with the next "$" of the
# text all the same ("$0.398 to $" set as a formula), so prose makes it DOLLAR. 248 in 149 of the
# 74,728 records outside the formulas SPAN found before 2026-12-02, 120 in 103 after: money, and
# strays ("Modeling$ (WorldPM)", "github$.io").
_UNPAIRED = re.compile(r"(?<!\\)\$")

# How far past its end an excerpt may run to finish a TeX span rather than stop before it.
SLACK = 120


def spans(text: str) -> list[tuple[int, int]]:
    if "$" not in text and "\\" not in text:  # most abstracts: no scan
        return []
    return [m.span() for m in SPAN.finditer(text)]


def window(tex: list[tuple[int, int]], lo: int, hi: int) -> tuple[int, int]:
    """[lo, hi) moved so that it cuts none of the `tex` spans: a start inside one moves back to
    it, an end inside one moves past it (up to SLACK characters) or else back before it."""
    for a, b in tex:
        if a < lo < b:
            lo = a
    for a, b in tex:
        if a < hi < b:
            hi = b if b - hi <= SLACK else max(lo, a)
    return lo, hi


def excerpt_html(source: str, marks: list[tuple[int, int]], lo: int = 0, hi: int | None = None) -> str:
    """`source[lo:hi]` escaped, with <mark> around the `marks` ranges (sorted, not overlapping) and
    "…" where it is cut. A window edge inside a TeX span moves to include the span (or, if that is
    too long, to stop before it), and a mark inside a span is left out."""
    tex = spans(source)
    lo, hi = window(tex, lo, len(source) if hi is None else hi)
    parts, pos = [], lo
    for a, b in marks:
        if a < lo or b > hi or any(x < b and a < y for x, y in tex):
            continue
        parts += [html.escape(source[pos:a]), "<mark>", html.escape(source[a:b]), "</mark>"]
        pos = b
    parts.append(html.escape(source[pos:hi]))
    return dollars_html(("… " if lo > 0 else "") + "".join(parts) + (" …" if hi < len(source) else ""))


# An escaped dollar (\$) in prose's text, until the escaped HTML is made (dollars_html). It cannot be
# a "$" there: KaTeX's auto-render pairs every "$" of a run of text with the next, so "costs \$5 and
# $x$" rendered "5 and " as a formula. A "$" in an element of its own is a run of its own, closed by
# none. A private-use character, dropped from the input.
DOLLAR = "\ue024"
_DOLLAR_HTML = '<span class="dollar">$</span>'


def dollars_html(escaped: str) -> str:
    """Escaped HTML with prose's escaped dollars made "$" that auto-render leaves alone."""
    return escaped.replace(DOLLAR, _DOLLAR_HTML)


# --- accents: arXiv's metadata spells letters in TeX (M\"uller, {\L}ukasz, Schr\"odinger) ------------

# The combining mark each accent command puts on its letter.
_MARKS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "d": "\u0323",
    "b": "\u0331", "k": "\u0328", "r": "\u030a",
}  # fmt: skip
_LETTERS = {
    "ss": "ß", "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
    "aa": "å", "AA": "Å", "i": "\u0131", "j": "\u0237",
}  # fmt: skip
# A control word ends at the first non-letter, so \o is no prefix of \omega nor \L of \Lambda; the
# spaces after a control word are TeX's to swallow (\AA ngstr\"om), as is an empty group (5 \AA{}).
_LETTER = re.compile(r"\\(%s)(?![A-Za-z])(?:\{\}|[ \t]*)" % "|".join(sorted(_LETTERS, key=len, reverse=True)))  # noqa: UP031
_ACCENT_CMD = re.compile(r"""\\(?:([`'^"~=.])|([uvHcdbkr])(?![A-Za-z]))[ \t]*""")
_DOTLESS = {"\u0131": "i", "\u0237": "j"}  # \'\i is an í: the accent replaces the dot


def _letter_at(text: str, i: int, bare: bool) -> tuple[str, int, bool] | None:
    """The accented or special letter whose command starts at text[i] (a backslash), as (letter,
    end, braced argument), or None when no such command starts there. A lettered accent takes an
    unbraced letter (\\c C) only when `bare`: abstracts write "\\b geometric" for bold, not an
    underlined g."""
    if m := _LETTER.match(text, i):
        return _LETTERS[m[1]], m.end(), False
    m = _ACCENT_CMD.match(text, i)
    if m is None:
        return None
    cmd, j = m[1] or m[2], m.end()
    braced = j < len(text) and text[j] == "{"
    if braced:  # \'{e}, \'{\i}, \~{\^e}, \'{} (the accent alone)
        close = text.find("}", j)
        if close < 0:
            return None
        inner = text[j + 1 : close].strip()
        if inner.startswith("\\"):
            got = _letter_at(inner, 0, bare)
            if got is None or got[1] != len(inner):
                return None
            base = got[0]
        elif len(inner) > 1 or (inner and not inner.isalpha()):
            return None  # \t{ts}, \'{ab}: rare, and no one letter to put the mark on
        else:
            base = inner
        end = close + 1
    elif m[2] and not bare:
        return None
    elif j < len(text) and text[j].isalpha():
        base, end = text[j], j + 1
    elif j < len(text) and text[j] == "\\" and (got := _letter_at(text, j, bare)):
        base, end = got[0], got[1]
    else:
        return None
    if not base:
        return (cmd if m[1] else ""), end, braced
    return _DOTLESS.get(base, base) + _MARKS[cmd], end, braced


def _decode(text: str, name: bool) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "{" and text.startswith("\\", i + 1):  # {\'e}, {\L}: the group is just the letter
            got = _letter_at(text, i + 1, name)
            if got and got[1] < n and text[got[1]] == "}":
                out.append(_composed(got[0], out, braced=True))
                i = got[1] + 1
                continue
        if c != "\\":
            out.append(c)
            i += 1
            continue
        got = _letter_at(text, i, name)
        if got is not None:
            out.append(_composed(got[0], out, got[2]))
            i = got[1]
        elif text.startswith("\\\\", i):  # TeX's line break: nothing in a name, kept in text
            out.append("" if name else "\\\\")
            i += 2
        else:  # a backslash that makes no letter: a name loses it (St\ütz), text keeps it (\emph, $\pi$)
            out.append("" if name else c)
            i += 1
    return unicodedata.normalize("NFC", "".join(out))


def _composed(letter: str, before: list[str], braced: bool) -> str:
    """`letter` (a base and its mark) as one character where Unicode has it. An acute or grave that
    makes none (O\\'Brien: a B has no acute) or that follows a one-letter word before a capital
    (D\\'Alessandro, L\\'Huillier) is the apostrophe the writer escaped."""
    if len(letter) != 2 or letter[1] not in "\u0301\u0300":
        return letter
    single = unicodedata.normalize("NFC", letter)
    tail = "".join(before[-2:])
    elided = (
        not braced
        and letter[0].isupper()
        and tail[-1:].isalpha()
        and (len(tail) < 2 or not tail[0].isalpha())
    )
    if len(single) == 1 and not elided:
        return single
    return ("'" if letter[1] == "\u0301" else "`") + letter[0]


def decode_accents(text: str) -> str:
    """`text` with TeX's accent commands and special letters as NFC Unicode (Schr\\"odinger →
    Schrödinger, {\\'E}cole → École, \\c{C}etin → Çetin, \\ss → ß); every other command kept."""
    return _decode(text, name=False) if "\\" in text else text


def decode_name(text: str) -> str:
    """An author's name as a person reads it: accents decoded as `decode_accents` does, and what TeX
    is left (braces, stray backslashes: Aakur\\\\, St\\ütz) dropped."""
    if "\\" not in text:
        return text
    return " ".join(_decode(text, name=True).replace("{", "").replace("}", "").split())


# --- plain text: where markup cannot render (a tab's title, a feed reader's item title) ----------

_SUPERSCRIPTS = dict(zip("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ", strict=True))
_SUBSCRIPTS = dict(zip("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎", strict=True))
_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",  # noqa: RUF001
    "zeta": "ζ", "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ",  # noqa: RUF001
    "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",  # noqa: RUF001
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ",
    "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "ell": "ℓ",  # noqa: RUF001
    "infty": "∞", "partial": "∂", "nabla": "∇", "times": "×", "cdot": "·", "pm": "±", "mp": "∓",  # noqa: RUF001
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠", "approx": "≈", "sim": "~",
    "equiv": "≡", "propto": "∝", "in": "∈", "subset": "⊂", "cup": "∪", "cap": "∩", "sum": "∑",  # noqa: RUF001
    "prod": "∏", "int": "∫", "sqrt": "√", "to": "→", "rightarrow": "→", "leftarrow": "←",
    "Rightarrow": "⇒", "mapsto": "↦", "circ": "∘", "star": "⋆", "ast": "∗", "dots": "…",  # noqa: RUF001
    "ldots": "…", "cdots": "…", "emph": "", "textbf": "", "textit": "", "text": "", "mathrm": "",
    "mathbf": "", "mathit": "", "mathcal": "", "mathbb": "", "mathsf": "", "mathtt": "",
    "texttt": "", "textrm": "", "operatorname": "", "boldsymbol": "", "bm": "", "left": "",
    "right": "", "big": "", "Big": "", "quad": " ", "qquad": " ", "boldmath": "",
}  # fmt: skip
_COMMAND = re.compile(r"\\([A-Za-z]+)(\s*)|\\([,;:! ])|\\([%&$#_{}])")
_SCRIPT = re.compile(r"([\^_])(?:\{([^{}]*)\}|(\\[A-Za-z]+|\\.|[^\\\s]))")


# The operators and relations TeX sets with space around them: one the writer spaced (a space before
# it and after it, where TeX took the one after for the command's end) is spaced on both sides, also
# after a command that took the space before: "$\varepsilon \leq 4$" is "ε ≤ 4", it read "ε≤4", and
# "$L \times L$" read "L", a space, the sign glued to "L". Unspaced it stays so ("$2\times$", "$\sim
# 5$" about 5); a letter or sign (\alpha \beta, \sqrt n) always runs on, as TeX sets it.
_SPACED = {
    "times", "cdot", "pm", "mp", "leq", "le", "geq", "ge", "neq", "ne", "approx", "sim", "equiv",
    "propto", "in", "subset", "cup", "cap", "to", "rightarrow", "leftarrow", "Rightarrow", "mapsto",
    "circ", "ast", "star",
}  # fmt: skip


# Math that plain reads and prose never touches (prose leaves formulas to KaTeX, and reads _SYMBOLS,
# not these, outside them). Each of these was read as its bare name ("succ", "hatu", "fraca b") in
# the 74,728 records' plain text before 2026-12-03 (counts: bench/README.md, "tex").
# Relations, arrows, delimiters and operators that have a Unicode sign.
_MATH_SYMBOLS = {
    "mid": "|", "vert": "|", "lvert": "|", "rvert": "|", "Vert": "‖", "lVert": "‖", "rVert": "‖",
    "parallel": "∥", "nmid": "∤", "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉",
    "lfloor": "⌊", "rfloor": "⌋", "leftrightarrow": "↔", "Leftrightarrow": "⇔", "Leftarrow": "⇐",
    "longrightarrow": "⟶", "longleftarrow": "⟵", "Longrightarrow": "⟹", "Longleftrightarrow": "⟺",
    "longleftrightarrow": "⟷", "implies": "⟹", "iff": "⟺", "uparrow": "↑", "downarrow": "↓",
    "Uparrow": "⇑", "Downarrow": "⇓", "nrightarrow": "↛", "gets": "←", "prec": "≺", "succ": "≻",
    "preceq": "⪯", "succeq": "⪰", "ll": "≪", "gg": "≫", "lesssim": "≲", "gtrsim": "≳",
    "leqslant": "⩽", "geqslant": "⩾", "simeq": "≃", "cong": "≅", "asymp": "≍", "doteq": "≐",
    "triangleq": "≜", "coloneqq": "≔", "subseteq": "⊆", "supseteq": "⊇", "supset": "⊃",
    "subsetneq": "⊊", "supsetneq": "⊋", "sqsubseteq": "⊑", "sqsubset": "⊏", "notin": "∉", "ni": "∋",
    "setminus": "∖", "exists": "∃", "nexists": "∄", "forall": "∀", "neg": "¬", "lnot": "¬",  # noqa: RUF001
    "wedge": "∧", "land": "∧", "vee": "∨", "lor": "∨", "otimes": "⊗", "oplus": "⊕", "ominus": "⊖",  # noqa: RUF001
    "oslash": "⊘", "odot": "⊙", "boxtimes": "⊠", "top": "⊤", "bot": "⊥", "perp": "⊥", "vdash": "⊢",  # noqa: RUF001
    "vDash": "⊨", "models": "⊨", "dagger": "†", "ddagger": "‡", "varnothing": "∅", "emptyset": "∅",
    "prime": "′", "circledR": "®", "checkmark": "✓", "square": "□", "Box": "□", "bigstar": "★",  # noqa: RUF001
    "bigcup": "⋃", "bigcap": "⋂", "bigoplus": "⨁", "bigotimes": "⨂", "bigvee": "⋁", "bigwedge": "⋀",  # noqa: RUF001
    "oint": "∮", "iint": "∬", "natural": "♮", "sharp": "♯", "flat": "♭", "angle": "∠", "hbar": "ℏ",
    "aleph": "ℵ", "Re": "ℜ", "Im": "ℑ", "degree": "°", "upmu": "μ", "varrho": "ϱ", "vartheta": "ϑ",  # noqa: RUF001
    "varsigma": "ς", "upsilon": "υ", "Upsilon": "Υ", "varpi": "ϖ", "colon": ":", "backslash": "\\",  # noqa: RUF001
    "dotsc": "…", "dotsb": "…", "dotsm": "…", "dotsi": "…", "dotso": "…", "vdots": "⋮", "ddots": "⋱",
    "cdotp": "·", "bmod": " mod ", "space": " ", "underline": "", "overbrace": "", "underbrace": "",
    "bigl": "", "bigr": "", "Bigl": "", "Bigr": "", "bigg": "", "Bigg": "", "biggl": "", "biggr": "",
    "Biggl": "", "Biggr": "", "bigm": "", "Bigm": "", "middle": "", "displaystyle": "", "textstyle": "",
    "scriptstyle": "", "limits": "", "nolimits": "", "rm": "", "bf": "", "it": "", "tt": "", "sf": "",
    "mathnormal": "", "tiny": "", "scriptsize": "", "footnotesize": "", "small": "", "large": "",
    "normalsize": "", "strut": "", "mathstrut": "",
}  # fmt: skip
# The relations and operators among them that the writer may space (_SPACED).
_MATH_SPACED = {
    "mid", "parallel", "nmid", "leftrightarrow", "Leftrightarrow", "Leftarrow", "longrightarrow",
    "longleftarrow", "Longrightarrow", "Longleftrightarrow", "longleftrightarrow", "implies", "iff",
    "gets", "prec", "succ", "preceq", "succeq", "ll", "gg", "lesssim", "gtrsim", "leqslant", "geqslant",
    "simeq", "cong", "asymp", "doteq", "triangleq", "coloneqq", "subseteq", "supseteq", "supset",
    "subsetneq", "supsetneq", "sqsubseteq", "sqsubset", "notin", "ni", "setminus", "wedge", "land",
    "vee", "lor", "otimes", "oplus", "ominus", "oslash", "odot", "boxtimes", "vdash", "vDash", "models",
}  # fmt: skip
_IN_MATH = {**_SYMBOLS, **_MATH_SYMBOLS}
_WORD_BEFORE = re.compile(r"\\([A-Za-z]+)$")
# Operator names (\log, \max): read as their names, as TeX sets them, with the space TeX puts between
# one and a letter or number glued to it ("$O(T\ln T)$" read "O(Tln T)", now "O(T ln T)").
_FUNCTIONS = {
    "log", "ln", "lg", "exp", "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "coth",
    "arcsin", "arccos", "arctan", "max", "min", "sup", "inf", "lim", "liminf", "limsup", "arg", "det",
    "dim", "ker", "gcd", "deg", "hom", "Pr",
}  # fmt: skip
# Math accents: the combining mark each puts on its letter (\hat{u} û, \bar{r} r̄, \vec{v} v⃗).
_MATH_ACCENTS = {
    "hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303", "widetilde": "\u0303", "bar": "\u0304",
    "Bar": "\u0304", "overline": "\u0305", "vec": "\u20d7", "overrightarrow": "\u20d7", "dot": "\u0307",
    "ddot": "\u0308", "dddot": "\u20db", "check": "\u030c", "widecheck": "\u030c", "breve": "\u0306",
    "acute": "\u0301", "grave": "\u0300", "mathring": "\u030a",
}  # fmt: skip


# \mathbb{R}, \mathcal{O}, \mathfrak{g} read as their letters (R, O, g): plain text goes where Unicode's
# mathematical alphabets are not safe (mail subjects, feed readers, terminals, screen readers, which
# say "mathematical script capital O"), and a title key reads them as the letters all the same.
_ALPHABETS = frozenset({"mathbb", "Bbb", "mathcal", "cal", "mathscr", "mathfrak"})
# The commands read here with their arguments, and how many each takes.
_MATH_ARGS = {
    "frac": 2, "tfrac": 2, "dfrac": 2, "cfrac": 2, "binom": 2, "tbinom": 2, "dbinom": 2, "pmod": 1,
    "unicode": 1, "operatorname": 1, "mathbin": 1, "mathrel": 1, "mathop": 1, "mathord": 1, "smash": 1,
    "xrightarrow": 1, "not": 1, "hspace": 1, "begin": 1, "end": 1,
    **dict.fromkeys(_MATH_ACCENTS, 1), **dict.fromkeys(_ALPHABETS, 1),
}  # fmt: skip
_RAW_ARGS = {*_MATH_ACCENTS, "not", "unicode"}
_CONTROL = re.compile(r"\\(?:([A-Za-z]+)\*?|.)", re.S)
_TOKEN = re.compile(r"\\(?:[A-Za-z]+|.)", re.S)
# A fraction's part that needs no parentheses: a word, a number, one symbol, each with its scripts.
_ATOM = re.compile(
    r"(?:[A-Za-z]+|\d+(?:\.\d+)?|\\[A-Za-z]+(?:\{\})?|[^\x00-\x7f])(?:[\^_](?:\{[^{}]*\}|\\[A-Za-z]+|[^\\\s{}]))*"
)
# \left. and \right. are no delimiter; \mkern-2mu and the like are spacing.
_NO_DELIMITER = re.compile(r"\\(?:left|right|[bB]igg?[lrm]?)\s*\.|\\m?kern\s*-?[\d.]+\s*(?:mu|em|ex|pt)?\s*")
# Text that _math has read and the passes after must leave as it is, held meanwhile as one character
# of the private use plane 15 (none in the records; dropped from the input).
_HELD = re.compile("[\U000f0000-\U000ffffd]")
_RAISED = "\u2032\u2033\u2034†‡®™"  # primes, daggers, marks: a superscript already
_SCRIPT_CHARS = set(_SUPERSCRIPTS.values()) | set(_SUBSCRIPTS.values())


def _hold(held: list[str], text: str) -> str:
    held.append(text)
    return chr(0xF0000 + len(held) - 1)


def _argument(tex: str, i: int) -> tuple[str, int] | None:
    """The argument TeX reads at tex[i]: a brace group's inside, a control word or one character."""
    while i < len(tex) and tex[i] in " \t":
        i += 1
    if i >= len(tex) or tex[i] in "}^_&":
        return None
    if tex[i] == "\\":
        m = _TOKEN.match(tex, i)
        return (m[0], m.end()) if m else None
    if tex[i] != "{":
        return tex[i], i + 1
    depth, j = 0, i
    while j < len(tex):
        if tex[j] == "\\":
            j += 2
            continue
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1 : j], j + 1
        j += 1
    return None


def _glued(before: str, after: str) -> bool:
    """Whether a reading between `before` and `after` runs into a letter, number or script there."""
    last, first = before[-1:], after[:1]
    return (
        (last.isalnum() or (last != "" and last in ")]") or bool(_HELD.match(last)))
        or first.isalnum()
        or (first != "" and first in "^_(")
        or bool(re.match(r"\\[A-Za-z]", after))
    )


def _accented(name: str, arg: str) -> str | None:
    base = _math(arg).strip()
    mark = _MATH_ACCENTS[name]
    if base and base[0].isalnum() and all(unicodedata.combining(c) or c in _SCRIPT_CHARS for c in base[1:]):
        return unicodedata.normalize("NFC", base[0] + mark) + base[1:]  # \overline{F_1} F̅₁
    if name == "overline" and base.isalnum():  # a bar over a word: over each letter, as Unicode draws it
        return "".join(c + mark for c in base)
    return None  # \hat{xy}: which letter has the hat is no one's guess


def _reading(name: str, args: list[str], before: str, after: str, held: list[str]) -> str | None:
    """What the command `name` with its (read) arguments says in plain text, or None to leave it."""

    if name in _MATH_ACCENTS:
        got = _accented(name, args[0])
        return None if got is None else _hold(held, got)
    if name in _ALPHABETS:
        return args[0]
    if name.endswith("frac"):
        parts = []
        for part in (a.strip() for a in args):
            atom = _ATOM.fullmatch(part) is not None
            parts.append(
                part + "{}" if atom and _ENDS_IN_WORD.search(part) else part if atom else f"({part})"
            )
        fraction = "/".join(parts)
        return f"({fraction})" if _glued(before, after) else fraction
    if name.endswith("binom"):
        return f"({args[0]} choose {args[1]})"
    if name == "pmod":
        return f" (mod {args[0]})"
    if name == "unicode":  # \unicode{x2013}, \unicode{8211}
        code = args[0].strip().lower()
        try:
            number = (
                int(code[1:], 16) if code.startswith("x") else int(code, 0 if code.startswith("0x") else 10)
            )
            return _hold(held, chr(number))
        except (ValueError, OverflowError):
            return None
    if name == "not":  # \not\equiv ≢, \not= ≠: the sign struck through
        sign = _math(args[0]).strip()
        return _hold(held, unicodedata.normalize("NFC", sign + "\u0338")) if len(sign) == 1 else None
    if name == "operatorname":
        return (" " if _glued(before, "") else "") + args[0] + (" " if after[:1].isalpha() else "")
    if name == "xrightarrow":
        return "→" if not args[0].strip() else None
    if name == "hspace":
        return " "
    if name in ("begin", "end"):  # an environment's name (cases) is no part of what it says
        return " "
    return args[0]  # \mathbin{…}, \smash{…}: the argument as it is


def _math_args(tex: str, held: list[str]) -> str:
    """`tex` with the commands of _MATH_ARGS read with their arguments, innermost first."""
    out: list[str] = []
    pos = 0
    for m in _CONTROL.finditer(tex):
        if m.start() < pos or m[1] not in _MATH_ARGS:
            continue
        args, j = [], m.end()
        if m[1] == "smash" and tex.startswith("[", j):
            j = tex.find("]", j) + 1 or j
        for _ in range(_MATH_ARGS[m[1]]):
            got = _argument(tex, j)
            if got is None:
                break
            # An accent's argument is read whole by _math (\\hat{\\Sigma}), so it is left raw here.
            args.append(got[0] if m[1] in _RAW_ARGS else _math_args(got[0], held))
            j = got[1]
        if len(args) < _MATH_ARGS[m[1]]:
            continue
        before = tex[pos : m.start()] or (out[-1] if out else "")
        got_reading = _reading(m[1], args, before, tex[j:], held)
        if got_reading is None:
            continue
        out += [tex[pos : m.start()], got_reading]
        pos = j
    return "".join(out) + tex[pos:]


def _command(m: re.Match[str]) -> str:
    if m[1] is not None:  # a symbol, or a word such as \log that keeps the space after it
        if m[1] not in _IN_MATH:
            if m[1] not in _FUNCTIONS:
                return m[1] + m[2]
            before, after = m.string[m.start() - 1 : m.start()], m.string[m.end() : m.end() + 1]
            # after a sign's command, as after the sign: \Delta\cos "Δ cos", \lceil\log "⌈log"
            word = _WORD_BEFORE.search(m.string, max(0, m.start() - 40), m.start())
            glued = bool(before) and (before.isalnum() or before in ")]}" or bool(_HELD.match(before)))
            glued = glued and (word is None or word[1] not in _IN_MATH or _IN_MATH[word[1]][-1:].isalnum())
            return (" " if glued else "") + m[1] + (m[2] or (" " if after.isalpha() else ""))
        spaced = (
            (m[1] in _SPACED or m[1] in _MATH_SPACED) and m.start() > 0 and m.string[m.start() - 1].isspace()
        )
        return f" {_IN_MATH[m[1]]} " if spaced and m[2] else _IN_MATH[m[1]]  # plain joins the spaces
    if m[3] is not None:  # TeX's small spaces
        return "" if m[3] == "!" else " "
    return m[4]  # an escaped character stands for itself


def _script(m: re.Match[str]) -> str:
    body = (m[2] if m[2] is not None else m[3]).strip()
    table = _SUPERSCRIPTS if m[1] == "^" else _SUBSCRIPTS
    if body and all(c in table for c in body):
        return "".join(table[c] for c in body)
    body = _COMMAND.sub(_command, body).strip()
    if m[1] == "^" and body == "∘":  # 90^\circ: the degree sign
        return "°"
    if m[1] == "^" and body and all(c in _RAISED for c in body):  # O^\prime, a^\dagger: raised already
        return body
    return m[1] + (body if len(body) == 1 else f"({body})")


# A cases display's rows (value & condition \\ …) read as "a if b; c otherwise": its "&" and "\\"
# were shown as typed ("ε= 0, & r is even, 1, & r is odd", 2604.21808, 2605.17022).
# A body holds no \begin{cases} of its own, so a scan from one with no end stops at the next.
_CASES = re.compile(r"\\begin\{cases\}((?:(?!\\begin\{cases\}).)*?)\\end\{cases\}", re.S)
_ROW_BREAK = re.compile(r"\\\\(?:\s*\[[^\]]*\])?")
_CONDITION_WORD = re.compile(
    r"(?:\\text(?:rm|normal)?\s*\{\s*)?(?:if|otherwise|else|for|when|where|unless)\b"
)


def _cases(m: re.Match[str]) -> str:
    """A cases display's rows as "value if condition", joined by "; ", still TeX for _math to read; the
    last row's full stop or comma (the sentence's) after them."""
    rows, stop = [], ""
    for row in _ROW_BREAK.split(m[1]):
        value, _, condition = row.partition("&")
        value, condition = value.strip().rstrip(",;").strip(), condition.strip()
        if not value and not condition:
            continue
        stop = condition[-1:] if condition[-1:] in ".," else ""
        condition = condition.rstrip(".,;").strip()
        if condition and not _CONDITION_WORD.match(condition):  # "otherwise", "if x > 0" say it already
            condition = "\\text{if }" + condition
        rows.append(f"{value} {condition}".strip())
    return " " + "; ".join(rows) + stop + " "


def _math(tex: str) -> str:
    held: list[str] = []
    # TeX's line break \\ a space (a cases display's rows); \| a double bar; \{ and \} braces that
    # stay, where a group's braces go (\max\{0,x\} read "max0,x"); a link its text, as in prose.
    tex = _HELD.sub("", tex)
    tex = _CASES.sub(_cases, tex) if "cases" in tex else tex
    tex = tex.replace("\\\\", " ").replace("\\|", "‖")
    tex = _NO_DELIMITER.sub("", tex.replace("\\{", "\ue07b").replace("\\}", "\ue07d"))
    tex = _math_args(_LINKS.sub(lambda m: _hold(held, _link(m)), tex), held)
    # A tie is a space, before \sim is made its "~" ($2\times$$\sim$$3\times$ read "2x 3x", x a times sign).
    tex = _SCRIPT.sub(_script, tex.replace("~", " "))
    tex = _COMMAND.sub(_command, tex).replace("{", "").replace("}", "")
    tex = tex.replace("\ue07b", "{").replace("\ue07d", "}")
    return _HELD.sub(lambda m: held[ord(m[0]) - 0xF0000], tex) if held else tex


# Prose-level TeX that arXiv abstracts carry outside math: commands whose argument is the text
# (\mbox{…}, \emph{…}) and citations, whose keys mean nothing to a reader.
_KEEP_ARG = (
    "mbox", "hbox", "emph", "textit", "textbf", "textsl", "textsc", "textsf", "texttt", "textrm",
    "textup", "textnormal", "text", "underline", "uline",
)  # fmt: skip
# A reference to a figure, table or section (\ref{fig:intro}: "Fig. \ref{…}", "Appendix \ref{…}") is
# dropped as a citation is: its key is no number, and the abstract has no figure to point to. So are
# \hypersetup's settings ({\hypersetup{urlcolor=blue}https://…}).
_DROP_ARG = (
    "cite", "citep", "citet", "citealp", "citealt", "citeauthor", "citeyear", "nocite", "label", "ref",
    "eqref", "autoref", "cref", "Cref", "pageref", "vref", "hypersetup",
)  # fmt: skip
# Raised or lowered text (PM\textsuperscript{4}Bench, mAP\textsubscript{50}: 46 and 5 of the 74,728
# records): Unicode's super- or subscripts where each character has one, else the text as it is
# (5\textsuperscript{th} a 5th, F\textsubscript{Hard} an FHard).
_SCRIPT_ARG = {"textsuperscript": _SUPERSCRIPTS, "textsubscript": _SUBSCRIPTS}
_QUOTE_ARG = ("enquote", "textquote")  # csquotes' \enquote{…}: the argument in quotes
# An argument ending in a control word (\texttt{\textless EOS\textgreater} loss) keeps it ended: the
# space after the group is the text's, not the command's to swallow.
_ENDS_IN_WORD = re.compile(r"\\[A-Za-z]+$")
_ARG = re.compile(
    r"\\(%s)\*?\s*(?:\[[^\]]*\]\s*)*\{" % "|".join((*_KEEP_ARG, *_SCRIPT_ARG, *_QUOTE_ARG, *_DROP_ARG))  # noqa: UP031
)
# {\em word}, LaTeX 2.09 style. The spaces are taken possessively: with \s+ they could also be the
# argument's, and "{\em" before a long run of spaces with no "}" tried every split (40,000 spaces: 42 s).
_OLD_FONT = re.compile(r"\{\\(?:em|it|bf|sl|sc|tt|rm)\s++([^{}]*)\}")
# A URL keeps its characters: the ~ of https://host/~user is no space, nor its -- a dash.
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+")
# TeX's typography in prose, as TeX sets it: -- and --- dashes (but not ----, nor an arrow's --> or
# <--; "--name" after a space is a dash too, in all 7 abstracts that have one); ``…'' quotes, and
# "…'' or ``…" (a quote opened one way and closed the other: 895 and ~50 of the 74,728 abstracts); a
# tie ~ between a word or number and the next a space (Table~1, generation~(RAG), e.g.~8, and "ours~
# achieves", "and ~binary") but not "about" (~5%, (~21%) nor a range (3~5). Counts: docs/site.md.
_DASH = re.compile(r"(?<![-<!])---?(?![->])")
_QUOTED = re.compile(
    r"(?<![^\s(\[{])\"(?=\S)([^\"\n]*?)''|(?:(?<!`)``|(?<![^\s(\[{])'')(?=\S)((?:(?!''|``)[^\"\n])*?)\""
)
_QUOTE = re.compile(r"(?<!`)``(?!`)|(?<!')''(?!')")
_TIE_SPACE = re.compile(r"(?<=[^\W_]|[.,;:)\]\0])~(?=[^\W_]|[(\[\0\s])|(?<=\s)~(?=[^\W\d_])")


# What may stand on either side of a closing quote: a word's end, then a space or punctuation.
_CLOSING_NEXT = ".,;:!?)]}"


def _quote(m: re.Match[str]) -> str:
    s, i, j = m.string, m.start(), m.end()
    before, after = s[i - 1 : i] or " ", s[j : j + 1] or " "
    if before.isspace() and after.isspace():  # '' alone: an empty string quoted, say
        return m[0]
    if m[0] == "``":  # TeX's opening quote, also after <i> or a dash; closing only ``…`` at a word's end
        closes = (before.isalnum() or before in _CLOSING_NEXT) and (after.isspace() or after in _CLOSING_NEXT)
    else:  # '' closes, but opens ''…'' before a word as at a line's start
        closes = not (before.isspace() or before in "([{") or after.isspace()
    return "\u201d" if closes else "\u201c"


def _tie(m: re.Match[str]) -> str:
    s, i = m.string, m.start()
    return "~" if s[i - 1 : i].isdigit() and s[i + 1 : i + 2].isdigit() else " "


def _typeset_run(text: str) -> str:
    # Each pattern opens with a look-behind, which rules out re's scan for a first character: the
    # tests for the characters first keep the abstracts that have none (most) at one pass each.
    if "''" in text or "``" in text:
        text = _QUOTED.sub(lambda m: f"\u201c{m[1] if m[1] is not None else m[2]}\u201d", text)
    if "``" in text or "''" in text:
        text = _QUOTE.sub(_quote, text)
    if "--" in text:
        text = _DASH.sub(lambda m: "\u2014" if len(m[0]) == 3 else "\u2013", text)
    return _TIE_SPACE.sub(_tie, text) if "~" in text else text


def _typeset(text: str) -> str:
    """Prose's dashes, quotes and ties as TeX sets them, outside URLs (https://host/~user, a--b)."""
    if "--" not in text and "~" not in text and "``" not in text and "''" not in text:
        return text  # 4 abstracts in 5: no look for URLs
    out, pos = [], 0
    for m in _URL.finditer(text):
        out += [_typeset_run(text[pos : m.start()]), m[0]]
        pos = m.end()
    out.append(_typeset_run(text[pos:]))
    return "".join(out)


def _unwrap(text: str) -> str:
    """The argument-taking commands above replaced by their argument (or nothing), braces matched
    so that an argument holding braces or math ends where TeX ends it."""
    if "\\" not in text:
        return text
    out, pos = [], 0
    while m := _ARG.search(text, pos):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "\\":
                i += 2
                continue
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth:  # no closing brace: leave the rest as it is
            break
        out.append(text[pos : m.start()])
        if m[1] in _DROP_ARG:
            out[-1] = out[-1].rstrip(" ~\t\n")  # "models~\cite{x}." -> "models."
            pos = i
            continue
        arg = _unwrap(text[m.end() : i - 1])
        arg += "{}" if _ENDS_IN_WORD.search(arg) else ""
        if m[1] in _SCRIPT_ARG:
            table, arg = _SCRIPT_ARG[m[1]], arg.strip()
            out.append("".join(table[c] for c in arg) if arg and all(c in table for c in arg) else arg)
        else:
            out.append(f"\u201c{arg}\u201d" if m[1] in _QUOTE_ARG else arg)
        pos = i
    out.append(text[pos:])
    return _OLD_FONT.sub(r"\1", "".join(out))


def unwrap(text: str) -> str:
    """Prose with \\emph{…}, \\mbox{…} and the like reduced to their argument, citations dropped."""
    return _unwrap(text)


# What else arXiv abstracts leave outside math that KaTeX's auto-render (math only) shows raw, by how
# often the 74,728 real records have it: escaped characters (\% 5,951, \& 191, \_ 145, \# 11),
# control spaces (\ , \,), \href{url}{text} (502), \url{…} (32), \footnote{…} (104),
# \textcolor{red}{…} (67), {\deg} (99), \eg/\ie (118), the bold switch \b (20) and \- (20).
# Letters and signs written as {\mu}m, {\alpha}-UMI, 0.60 \pm 0.05 outside a formula.
_GREEK = [
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "varphi", "chi", "psi", "omega",
]  # fmt: skip
_GREEK_AND_SIGNS = [*_GREEK, *(w.capitalize() for w in _GREEK if w.capitalize() in _SYMBOLS)]
_GREEK_AND_SIGNS += ["pm", "times", "approx", "leq", "geq", "infty", "ell", "cdot"]
# \href{url} with no text after it (12 of the 74,728 records) is the URL.
# Its text may hold groups two deep (NAVSIM-v2 {\textcolor{blue}{\textit{navhard}}}, 2605.09701).
_LINKS = re.compile(
    r"\\(href|hyperlink)\s*\{([^{}]*)\}(?:\s*\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}|(?!\s*\{))"
    r"|\\url\s*\{([^{}]*)\}"
)
# A footnote's mark (\footnote[1]{…}, \footnotemark[2]) says nothing without the page's foot.
_FOOTNOTE = re.compile(
    r"\\footnote\s*(?:\[[^\]]*\]\s*)?\{((?:[^{}]|\{[^{}]*\})*)\}|\\footnotemark(?:\[[^\]]*\])?"
)
# A colour, scale or language given before the text (\textcolor{red}{…}, \color[RGB]{175,36,67}{…},
# \scalebox{0.65}{…}, \foreignlanguage{bengali}{…}) is no text: dropped, the text kept as \mbox{…}
# keeps it. \color is a switch too ({\color{blue} 4) Refinement …}, \color{ddt}Decoupled), as is a
# \textcolor{blue} written before a bare URL: 19 in 14 of the 74,728 records showed the colour's name.
_COLOURED = re.compile(
    r"\\(?:textcolor|colorbox|color|scalebox|raisebox|foreignlanguage)\s*(?:\[[^\]]*\]\s*)?\{[^{}]*\}(\s*(?=\{))?"
)
# TeX's \char"0986 (hex), \char'123 (octal), \char65: the character of that code.
_CHAR = re.compile(r"\\char\s*(?:\"([0-9A-Fa-f]{1,6})|'([0-7]{1,8})|(\d{1,7}))")
# pifont's numbered dingbats, \ding{182} "❶" (7 in the 74,728 records, each a list's number): the
# circled digits 172-211 as "(1)" to "(10)", plain for a mail or a screen reader; ticks and crosses.
_DING = re.compile(r"\\ding\s*\{\s*(\d+)\s*\}")
_DINGS = {51: "\u2713", 52: "\u2714", 55: "\u2717", 56: "\u2718"}
# LaTeX's text-mode symbols (textcomp's), \textpertenthousand to \textmu; as in TeX, a space after one
# is the command's end, not a space (\textmu m is µm, \textless EOS\textgreater is <EOS>). In the
# 74,728 records outside formulas: \textasciitilde 6, \textdegree, \textemdash, \textregistered and
# \textasciicircum 3 each, \textless 2, \textmu, \textperthousand, \textpertenthousand,
# \textrightarrow, \textbackslash and \textgreater 1 each (docs/site.md); the rest are LaTeX's usual.
_TEXT_SYMBOLS = {
    "textemdash": "\u2014", "textendash": "\u2013", "textbackslash": "\\", "textasciitilde": "~",
    "textasciicircum": "^", "textasciigrave": "`", "textdegree": "°", "textregistered": "®",
    "texttrademark": "™", "textcopyright": "©", "textservicemark": "℠", "textperthousand": "‰",
    "textpertenthousand": "‱", "textmu": "µ", "textohm": "Ω", "textcelsius": "℃", "textless": "<",
    "textgreater": ">", "textbar": "|", "textunderscore": "_", "textbraceleft": "{", "textbraceright": "}",
    "textrightarrow": "→", "textleftarrow": "←", "textuparrow": "↑", "textdownarrow": "↓",
    "textbullet": "•", "textperiodcentered": "·", "textdagger": "†", "textdaggerdbl": "‡",
    "textsection": "§", "textparagraph": "¶", "textellipsis": "…", "texttimes": "\u00d7", "textdiv": "÷",
    "textpm": "±", "textminus": "\u2212", "textonehalf": "½", "textonequarter": "¼",
    "textthreequarters": "¾", "texteuro": "€", "textsterling": "£", "textyen": "¥", "textcent": "¢",
    "textquoteleft": "\u2018", "textquoteright": "\u2019", "textquotedblleft": "\u201c",
    "textquotedblright": "\u201d", "textquotesingle": "'", "textquotedbl": '"', "textnumero": "№",
    "textexclamdown": "¡", "textquestiondown": "¿", "textvisiblespace": "␣",
}  # fmt: skip
_PROSE_WORDS = {**{w: _SYMBOLS[w] for w in _GREEK_AND_SIGNS}, "eg": "e.g.", "ie": "i.e.", "etal": "et al.",
                "deg": "°", "ldots": "…", "dots": "…", "copyright": "©", "S": "§", "P": "¶", "dag": "†",
                "ddag": "‡", **_TEXT_SYMBOLS}  # fmt: skip
# The one-letter \S and \P only braced ({\S} 112(b)): bare, a \S may be anything.
_PROSE_WORD = re.compile(
    r"\{\\(%s)\}|\\(%s)(?![A-Za-z])(?:\{\}|([ \t]*))"  # noqa: UP031
    % ("|".join(_PROSE_WORDS), "|".join(w for w in _PROSE_WORDS if len(w) > 1))
)


# The symbols a space after which only ends the command (\textmu m, \textless EOS): for the others
# the writer meant the space they typed (1\textpertenthousand Spatial, where TeX would run them on).
_ATTACHED = {"textmu", "textless", "textbackslash", "textasciicircum", "textasciigrave", "textquoteleft",
             "textquotedblleft", "textexclamdown", "textquestiondown", "textbraceleft"}  # fmt: skip


def _prose_word(m: re.Match[str]) -> str:
    if m[1]:
        return _PROSE_WORDS[m[1]]
    return _PROSE_WORDS[m[2]] + ("" if m[2] in _ATTACHED else m[3] or "")


# What the records' own encoding mangled. A backslash doubled before an escaped sign or a command this
# module knows (86\\% for 86\%, 2509.08780): to TeX a line break then a comment, or then a word, so
# "86 %" or "\e.g." was shown. A Greek letter split into an accent and its argument (\r{ho} for \rho,
# \b{eta}, \k{appa}: 45 of the 74,728 abstracts).
_KNOWN = sorted(
    {
        *_PROSE_WORDS,
        *_KEEP_ARG,
        *_SCRIPT_ARG,
        *_QUOTE_ARG,
        *_DROP_ARG,
        "href",
        "url",
        "footnote",
        "textcolor",
    },
    key=len,
)
_DOUBLED = re.compile(r"(?<!\\)\\(?=\\(?:[%%&_#$]|(?:%s)(?![A-Za-z])))" % "|".join(reversed(_KNOWN)))  # noqa: UP031
_SPLIT_GREEK = re.compile(r"\\([A-Za-z])\{([a-z]+)\}")
_SPLIT_WORDS = {**{w: _SYMBOLS[w] for w in _GREEK}, "copyright": "©"}  # and \c{opyright} (2507.23193)


def _repair(text: str) -> str:
    if "\\" not in text:
        return text
    text = _DOUBLED.sub("", text)
    return _SPLIT_GREEK.sub(lambda m: _SPLIT_WORDS.get(m[1] + m[2], m[0]), text)


# \b before a word: a bold switch some abstracts use ("\b geometric \b score-based"); \- a hyphenation
# point; the escaped characters stand for themselves (\$ as DOLLAR: a "$" would start a formula);
# TeX's line break \\ (7 of the 74,728 records, 6 of them "\\ ") or \newline a space: matched first, or
# the second backslash and the space after it were taken for a control space, the first left standing.
_TIE = re.compile(r"~(?=\\[A-Za-z])")
_SWITCHES = re.compile(
    r"\s?(?:(\\\\\*?|\\newline(?![A-Za-z]))\s*)+|\\b\s+(?=\S)|\\-|\\/|\\([%&_#${}])|\\([ ,;:!])|\\@([^\W_])?"
)
# What is left: an author's own macro for a name (\method, \ours{}, {\dataset}: 66, 50 and 11 of the
# 74,728 records) and the like, no argument taken. Its definition is not in the abstract; its name
# mostly is the thing's name (\veomni, \caro, \ChordPrompt), and "we propose \name, the first" reads
# better as "we propose name," than with a hole. A size or font switch says nothing; a symbol is itself
# (\in, \sim outside a formula). Two letters at least: "\n\n" in quotes is no macro, nor \\ a line
# break's backslash; a command with an argument ({ or [ next) is not one of these.
_MACRO = re.compile(r"\{\\([A-Za-z]{2,})\}|(?<!\\)\\([A-Za-z]{2,})(?:\{\}|(?![A-Za-z{\[*\ue07b]))([ \t]*)")
_SIZES = {
    "tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large", "LARGE", "huge", "Huge",
    "boldmath", "unboldmath", "bfseries", "itshape", "mdseries", "upshape", "scshape", "rmfamily",
    "sffamily", "ttfamily", "normalfont", "centering", "noindent", "xspace",
}  # fmt: skip


def _macro(m: re.Match[str]) -> str:
    name = m[1] or m[2]
    return "" if name in _SIZES else _SYMBOLS.get(name, name) + (m[3] or "")  # a switch takes its spaces


def _coloured(m: re.Match[str]) -> str:
    return "\\mbox" if m[1] is not None else ""  # the text after it, as \mbox{…} keeps it


def _footnote(m: re.Match[str]) -> str:
    if m[1] is None:  # \footnotemark
        return ""
    # a space after it where the text runs on ("self-attention.}maps", 2509.18711)
    return f" ({m[1].strip()})" + (" " if m.string[m.end() : m.end() + 1].isalnum() else "")


def _char(m: re.Match[str]) -> str:
    code = int(m[1], 16) if m[1] else int(m[2], 8) if m[2] else int(m[3])
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code < 0xE000 else m[0]


def _ding(m: re.Match[str]) -> str:
    n = int(m[1])
    if 172 <= n <= 211:
        return f"({(n - 172) % 10 + 1})"
    return _DINGS.get(n, m[0])


# An escaped brace (\{ \}) until _ungroup has dropped the groups' braces: then a brace again.
_ESCAPED_BRACES = {"{": "\ue07b", "}": "\ue07d"}


def _switch(m: re.Match[str]) -> str:
    if m[2]:
        return DOLLAR if m[2] == "$" else _ESCAPED_BRACES.get(m[2], m[2])
    if m[4]:  # \@ is TeX's space factor, but "mAP\@0.5" means mAP@0.5
        return "@" + m[4]
    return " " if m[1] or m[3] else ""


def _link(m: re.Match[str]) -> str:
    if m[4] is not None:
        return m[4]
    url, label = m[2].strip(), (m[3] or "").strip()
    return url if not label or label == url else f"{label} ({url})"


# A group's braces in prose: TeX's grouping, which it never prints. In the 74,728 records, outside
# formulas and URLs, 1,326 braces in 485 texts (14 in 6 titles): case protection ({PvNeXt},
# {{{F}}}aster, pro{A}ctive), a number's {,}, emphasis a command lost ({unseen}). Kept: an argument
# (\cmd{…}, the next {…} after one, x^{…}, x_{…}: another rule's or shown as it is), a group that
# starts with a command ({\em …}: _MACRO's, _OLD_FONT's), a set or list ({Austin, Dallas}, {T,S}),
# and a placeholder in a quoted prompt ("a photo of a {class}").
_PLACEHOLDER = re.compile(r"[a-z_][a-z0-9_]*")
_ARGUMENT_BEFORE = re.compile(r"(?:\\[A-Za-z]+\*?\s*|[\]^_])$")


def _quoted_at(text: str, i: int) -> bool:
    """Whether text[i] is inside a quotation opened before it and not yet closed: "…", ``…'', “…”, or
    ''…'' (as 2602.12461 quotes its prompt, ''A photo of a {label}'')."""
    before = text[max(0, i - 200) : i]
    opened = max(before.rfind("``"), before.rfind("“")) > max(before.rfind("''"), before.rfind("”"))
    return opened or before.count('"') % 2 == 1 or before.count("''") % 2 == 1


def _ungroup(text: str) -> str:
    if "{" not in text:
        return text
    drop: set[int] = set()
    opened: list[int] = []
    argument_end = -2  # where the last kept argument closed: a group right after it is one too
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            opened.append(i)
        elif c == "}" and opened:
            start = opened.pop()
            inner = text[start + 1 : i] if i - start <= 200 else ""
            kept = (
                start == argument_end + 1
                or _ARGUMENT_BEFORE.search(text, max(0, start - 40), start) is not None
                or inner.startswith("\\")
                or ("," in inner and inner != ",")
                or (_PLACEHOLDER.fullmatch(inner) is not None and _quoted_at(text, start))
            )
            if kept:
                argument_end = i
            else:
                drop.update((start, i))
        i += 1
    return "".join(c for j, c in enumerate(text) if j not in drop) if drop else text


# A group a command opens and nothing closes (\footnote{Code at https://…, \href{github}{https://…,
# \textbf{CIGOcc, a …, \rev{We evaluate …: 39 of the 74,728 records) runs to the end of the text, as
# TeX reads it, so the rest of the abstract is its argument, read as one: it showed with the command
# and its brace. A group no command opens ("a {broken group") or one of math or layout (a prompt's
# "\boxed{" quoted: _NOT_TEXT) stays as written.
_CLOSED_BY_END = re.compile(r"\\([A-Za-z]{2,})\*?\s*(?:\[[^\]]*\]\s*)*(?:\{[^{}]*\}\s*)?\{\Z")
_BRACE = re.compile(r"\\.|[{}]", re.S)
# Commands whose argument is dropped: the rest of an abstract is not to go with an unclosed one.
_DROPPED = {*_DROP_ARG, "deleted", "replaced"}


def _closed(text: str) -> str:
    """`text` with the groups that commands open and nothing closes closed at its end."""
    opened: list[int] = []
    for m in _BRACE.finditer(text):
        if m[0] == "{":
            opened.append(m.start())
        elif m[0] == "}" and opened:
            opened.pop()
    for k, start in enumerate(opened):
        command = _CLOSED_BY_END.search(text[max(0, start - 80) : start + 1])
        if command and command[1] not in _NOT_TEXT and command[1] not in _DROPPED:
            return text + "}" * (len(opened) - k)
    return text


# siunitx (\num{36000}, \SI{5}{\giga\hertz}, \qty{5}{\km}, \si{\kilo\meter}, \qtyproduct{128 x 128}{\m}:
# 7 in 5 of the 74,728 records) as a number and its unit's symbols ("5 GHz", "5 km").
_SI_PREFIXES = {
    "yocto": "y", "zepto": "z", "atto": "a", "femto": "f", "pico": "p", "nano": "n", "micro": "µ",
    "milli": "m", "centi": "c", "deci": "d", "deca": "da", "hecto": "h", "kilo": "k", "mega": "M",
    "giga": "G", "tera": "T", "peta": "P", "exa": "E",
}  # fmt: skip
_SI_UNITS = {
    "meter": "m", "metre": "m", "second": "s", "gram": "g", "kilogram": "kg", "hertz": "Hz", "watt": "W",
    "joule": "J", "volt": "V", "ampere": "A", "ohm": "Ω", "kelvin": "K", "celsius": "°C",
    "degreeCelsius": "°C", "newton": "N", "pascal": "Pa", "byte": "B", "bit": "bit", "decibel": "dB",
    "percent": "%", "degree": "°", "arcminute": "\u2032", "arcsecond": "\u2033", "hour": "h", "minute": "min",
    "day": "d", "liter": "L", "litre": "L", "radian": "rad", "bel": "B", "tonne": "t", "mole": "mol",
    "candela": "cd", "lux": "lx", "farad": "F", "henry": "H", "tesla": "T", "coulomb": "C", "siemens": "S",
    "m": "m", "s": "s", "g": "g", "kg": "kg", "km": "km", "cm": "cm", "mm": "mm", "um": "µm", "nm": "nm",
    "ms": "ms", "us": "µs", "ns": "ns", "Hz": "Hz", "kHz": "kHz", "MHz": "MHz", "GHz": "GHz", "W": "W",
    "kW": "kW", "mW": "mW", "MW": "MW", "J": "J", "V": "V", "mV": "mV", "A": "A", "mA": "mA", "K": "K",
    "dB": "dB", "h": "h", "L": "L", "mL": "mL",
}  # fmt: skip
_SI_POWERS = {"square": "²", "squared": "²", "cubic": "³", "cubed": "³"}
# Each command's arguments: n numbers (a product's or range's parts in one argument or several), then
# a unit or not.
_SI_ARGS = {
    "num": (1, False), "si": (0, True), "unit": (0, True), "SI": (1, True), "qty": (1, True),
    "ang": (1, False), "numproduct": (1, False), "qtyproduct": (1, True), "numrange": (2, False),
    "SIrange": (2, True), "qtyrange": (2, True),
}  # fmt: skip
# The arguments are one brace group each, none nested ({\giga\hertz}): each match reads up to a brace.
_SIUNITX = re.compile(
    r"\\(%s)(?![A-Za-z])\s*(?:\[[^\]]*\]\s*)?\{([^{}]*)\}(?:\s*\{([^{}]*)\})?(?:\s*\{([^{}]*)\})?"  # noqa: UP031
    % "|".join(sorted(_SI_ARGS, key=len, reverse=True))
)
_SI_TOKEN = re.compile(r"\s*(?:\\([A-Za-z]+)|([^\\\s]+))")


def _si_unit(units: str) -> str | None:
    """A siunitx unit (\\kilo\\meter\\per\\second, \\percent, km/h) in symbols (km/s, %), or None if it
    is no unit (a prefix or \\per with nothing after it)."""
    out, prefix, power, per = [], "", "", False
    for m in _SI_TOKEN.finditer(units):
        if m[2] is not None:  # a unit written as text: km/h
            out.append(("/" if per else " ") + m[2])
            per = False
        elif m[1] in _SI_PREFIXES:
            prefix = _SI_PREFIXES[m[1]]
        elif m[1] in _SI_POWERS:
            if m[1].endswith("ed") and out:
                out[-1] += _SI_POWERS[m[1]]
            else:
                power = _SI_POWERS[m[1]]
        elif m[1] == "per":
            per = True
        else:  # a unit it does not know by its name (\furlong): the name, as the author's macros are
            out.append(("/" if per else " ") + prefix + _SI_UNITS.get(m[1], m[1]) + power)
            prefix = power = ""
            per = False
    return "".join(out).strip() if out and not prefix and not per else None


def _siunitx(m: re.Match[str]) -> tuple[str, int] | None:
    """The reading of the siunitx command `m` matched and where its arguments end, or None."""
    count, has_unit = _SI_ARGS[m[1]]
    used = count + has_unit
    if m[used + 1] is None:
        return None
    numbers = [" ".join(m[k].split()).replace(" x ", " \u00d7 ") for k in range(2, count + 2)]
    number, unit = "\u2013".join(numbers), ""
    if has_unit and not (unit := _si_unit(m[used + 1]) or ""):
        return None
    end = m.end(used + 1) + 1
    if m[1] == "ang":
        return number + "°", end
    return number + (" " if number and unit[:1] not in ("%", "°", "\u2032", "\u2033") else "") + unit, end


def _units(text: str) -> str:
    """`text` with siunitx's commands read as numbers and units."""
    out, pos = [], 0
    for m in _SIUNITX.finditer(text):
        if m.start() >= pos and (got := _siunitx(m)):
            out += [text[pos : m.start()], got[0]]
            pos = got[1]
    return "".join(out) + text[pos:] if out else text


# The changes package's revision marks: \replaced{new}{old} the new text, \deleted{old} nothing;
# \added{new} is a command with a text argument, below (10 in 2 of the 74,728 records).
_CHANGES = re.compile(
    r"\\(?:replaced\s*(?:\[[^\]]*\]\s*)?\{([^{}]*)\}\s*\{[^{}]*\}|deleted\s*(?:\[[^\]]*\]\s*)?\{[^{}]*\})"
)
# Acronyms (acronym's \ac{LLM}, \acs, \acl, \acp; glossaries' \acrshort{llm}, \acrfull; \gls{DRL}: 21 in
# 10 of the 74,728 records): the key, which is the acronym, or the acronym in lower case (\ac{ofdm},
# \acs{llm}s) where the package would print it in capitals; a plural's "s". The long form is in the
# paper's list of acronyms, not in the abstract. A glossary's key (\gls{rb}) may be a word: as written.
_ACRONYM = re.compile(
    r"\\(?:([Aa]c[slfp]?p?|[Aa]cr(?:short|long|full)(?:pl)?)|([Gg]ls(?:pl)?|GLS(?:pl)?|glsentryshort))\*?\{([^{}]*)\}"
)


def _acronym(m: re.Match[str]) -> str:
    name, key = m[1] or m[2], m[3].strip()
    if m[1] and (key.islower() or key.isdigit()):
        key = key.upper()
    return key + ("s" if name.endswith(("p", "pl")) else "")


# Any other command with a text argument (\rev{…}, \revision{…}, \blue{clinical reward}, \model{Grok
# 4}, \tit{pairwise}, \keywords{…}, \small{…}: an author's mark for a revision, a colour or a font, 53
# in 40 of the 74,728 records) is its argument: the mark says nothing in plain text or to KaTeX, and
# it showed with its name and braces. One character (\ECUAS{n}, \Rk{1}, \INT{8}: the name is part of
# what it says), or a command of math or layout, stays as written.
_TEXT_ARGUMENT = re.compile(r"\\(?<!\\\\)([A-Za-z]{2,})\*?\s*(?:\[[^\]]*\]\s*)?\{([^{}]*)\}")
_NOT_TEXT = {
    *(name for name, sign in _IN_MATH.items() if sign), *_MATH_ARGS, *_FUNCTIONS, "begin", "end",
    "vspace", "hspace", "vskip", "hskip", "kern",
    "includegraphics", "input", "include", "bibliography", "bibliographystyle", "usepackage",
    "documentclass", "newcommand", "renewcommand", "def", "setlength", "addtolength", "setcounter",
    "pagestyle", "thispagestyle", "hypersetup", "boxed", "fbox", "phantom", "hphantom", "vphantom",
    "rule", "linewidth", "textwidth",
}  # fmt: skip


# Commands a rule above reads: one it could not read (\href{url}{a {b {c}}}, groups three deep) stays
# as written rather than lose its text.
_READ_ELSEWHERE = {
    "href", "hyperlink", "url", "footnote", "textcolor", "colorbox", "color", "scalebox", "raisebox",
    "foreignlanguage", "ding", "char", *_SI_ARGS,
}  # fmt: skip
_FONTS = {"mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathnormal", "boldsymbol", "bm"}  # μ\mathrm{m}


def _text_argument(m: re.Match[str]) -> str:
    name, arg = m[1], m[2]
    if name in _NOT_TEXT or name in _READ_ELSEWHERE or len(arg.strip()) < (1 if name in _FONTS else 2):
        return m[0]
    if name.lower() == "keywords":  # Springer's \keywords{a \and b}
        return "Keywords: " + re.sub(r"\s*\\and(?![A-Za-z])\s*", ", ", arg.strip())
    return arg


def _prose_tex(text: str) -> str:
    # A tie before a command (at~\url{…}) is a space; others stay: "~5%" means about 5%.
    text = _TIE.sub(" ", _repair(text))
    if "{" in text:  # the commands below take a brace argument
        # Only where a group may run to the end: fewer closing braces than opening ones, or an
        # opening one last ("ltpipeline}\footnote{All released …", 2512.02817: a stray "}" evens the count).
        if text.rfind("{") > text.rfind("}") or text.count("{") > text.count("}"):
            text = _closed(text)
        text = _COLOURED.sub(_coloured, _LINKS.sub(_link, text))
        text = _units(_DING.sub(_ding, text) if "\\ding" in text else text)
        text = _ACRONYM.sub(_acronym, _CHANGES.sub(lambda m: m[1] or "", text))
    text = _FOOTNOTE.sub(_footnote, text)
    text = _CHAR.sub(_char, text) if "\\char" in text else text
    text = _unwrap(decode_accents(text))
    text = _PROSE_WORD.sub(_prose_word, text)
    # The groups last, once the switches and macros inside them have gone ({{\large {F}}}aster).
    text = _SWITCHES.sub(_switch, text)
    text = _TEXT_ARGUMENT.sub(_text_argument, text) if "{" in text else text
    text = _ungroup(_MACRO.sub(_macro, text))
    return text.replace("\ue07b", "{").replace("\ue07d", "}")


# A "%" in a formula is a percent sign ($88.94%$: 42 in 22 of the 74,728 abstracts), as it is in
# arXiv's prose; to KaTeX it starts a comment, and the rest of the formula went unshown.
_PERCENT = re.compile(r"(?<!\\)%")


def prose(text: str) -> str:
    """An abstract as KaTeX's auto-render should get it: the TeX outside its formulas that it would
    show raw turned into text (\\textbf{…} and the like reduced to their argument, citations dropped,
    accents composed, \\% a %, \\href{url}{text} "text (url)", {\\mu} a μ, \\b and \\- gone, an
    author's macro \\method its name, a line break a space, a group's braces dropped: {PvNeXt}; a
    colour or \\ref gone, \\ac{llm} "LLM", \\SI{5}{\\giga\\hertz} "5 GHz", \\rev{…} its text, a
    command's group with no closing brace the rest of the text);
    the formulas ($…$, \\(…\\), …) untouched for KaTeX but that a "%" in one is a percent sign. Text
    still, for the template to escape, with \\$ and every "$" that opens no formula (money: "costs
    $5 per hour") as DOLLAR: escaped, it goes through dollars_html."""
    text = (text or "").replace("\0", "").replace(DOLLAR, "")
    if "\\" not in text and "$" not in text:  # most abstracts: no formula to keep from _typeset
        return _typeset(_ungroup(text))
    # Each formula stands aside as a NUL-numbered token meanwhile, so that \\textbf{4.75 $\\times$}
    # is one argument to unwrap and no command inside a formula is touched.
    formulas: list[str] = []

    def aside(m: re.Match[str]) -> str:
        formulas.append(_PERCENT.sub(r"\\%", m[0]) if "%" in m[0] else m[0])
        return f"\0{len(formulas) - 1}\0"

    # A formula wrapped over lines is one formula to KaTeX (the page and snippets join the lines),
    # not prose to turn \wedge into "wedge" in: SPAN's $…$ stops at a line's end.
    out = SPAN.sub(aside, text.replace("\n", " "))
    out = _UNPAIRED.sub(DOLLAR, out) if "$" in out else out  # a "$" of no formula: never one to KaTeX
    out = _typeset(_prose_tex(out) if "\\" in out else _ungroup(out))
    return re.sub("\0(\\d+)\0", lambda m: formulas[int(m[1])], out)


def prose_html(text: str) -> str:
    """prose's text escaped, whitespace joined, its escaped dollars made dollars_html's: a title as a
    page shows it (KaTeX renders its formulas). Search results mark words in the same text
    (search.services.highlight over prose), so a marked title reads as an unmarked one."""
    return excerpt_html(" ".join(prose(text).split()), [])


def _plain_prose(text: str) -> str:
    # The TeX outside formulas as prose makes it text (\href, \textcolor, \textperthousand, \method):
    # a mail or a terminal showed it raw. Its escaped dollars are plain dollars here: no KaTeX to fool.
    return _typeset(_prose_tex(text).replace(DOLLAR, "$") if "\\" in text else _ungroup(text))


# A control word right before a text argument in a formula ($\mu\text{m}$): unwrapped, the two ran
# into one unknown word ("mum", "rhoSIM" for $\rho\text{SIM}$); an empty group keeps the word ended.
_GLUED = re.compile(r"(\\[A-Za-z]+)(?=\\(?:%s)\*?\s*[\[{])" % "|".join(_KEEP_ARG))  # noqa: UP031
_ENVIRONMENT = re.compile(
    r"\\begin\{(equation|align|gather|multline|eqnarray)(\*?)\}((?:(?!\\begin\{).)*?)\\end\{\1\2\}", re.S
)
_PERCENT_TIE = re.compile(r"(?<=\\%)~(?=\0)")


def plain(text: str) -> str:
    """Text with its TeX spelled in plain characters: delimiters dropped, Greek letters and common
    symbols as Unicode, single-character and digit scripts as super- and subscripts (C$^2$ → C²,
    $x_{10}$ → x₁₀), longer ones as ^(…), font commands reduced to their argument, accents
    composed; the prose's TeX as prose makes it text (\\emph{…} its argument, citations dropped,
    \\href{url}{text} "text (url)", \\textperthousand ‰, \\method its name), a tie ~ and a line break
    a space, ``…'' curly quotes, -- and --- dashes (not in a URL); a cases display's rows "a if b; c
    otherwise", and an equation environment outside $…$ read as a formula.
    For places that cannot run KaTeX: a <title>, a feed's item title, a meta tag, a mail."""
    # Lines joined first, as prose joins them: a formula wrapped over lines is one formula.
    text = decode_accents(_repair((text or "").replace("\0", "").replace("\n", " ")))
    # The formulas stand aside, as in prose, while \textbf{…} and the like are unwrapped: one that
    # holds formulas of its own ($\textbf{$\infty$Bench+}$) was unwrapped into stray dollars.
    formulas: list[str] = []

    def aside(m: re.Match[str]) -> str:
        tex = next(g for g in m.groups() if g is not None)
        tex = _unwrap(_GLUED.sub(r"\1{}", tex) if "\\" in tex else tex)
        formulas.append(_math(_UNPAIRED.sub("", tex) if "$" in tex else tex))
        return f"\0{len(formulas) - 1}\0"

    # An equation environment outside $…$ (2605.17127, 2606.19493) is math to read, not prose: KaTeX's
    # auto-render (site.js) takes no environment as a delimiter, so the page shows it as written.
    text = _ENVIRONMENT.sub(r"\\[\3\\]", text) if "\\begin{" in text else text
    out = SPAN.sub(aside, text)
    # A tie between a percent and a formula is a space: "44.5\%~$\rightarrow$" read "44.5%~→".
    out = _plain_prose(_unwrap(_PERCENT_TIE.sub(" ", out) if "%~" in out else out))
    out = re.sub("\0(\\d+)\0", lambda m: formulas[int(m[1])], out)
    prose = out.replace("\\$", "$").replace("\\&", "&").replace("\\%", "%")
    return " ".join(prose.split())
