"""Migration 0004 decoded the TeX of stored author names ("Hans M\\"uller" became "Hans Müller", key
hans-muller) but kept no alias of the keys it replaced (slugs of the TeX: hans-m-uller), so the author
addresses from before it answered 404 where 0006's re-keyed ones redirect.

The old keys cannot be recomputed exactly: 0004 overwrote the names and `authors_text`, and one
decoded name came from several spellings whose slugs differ (M\\"uller: m-uller; M\\"{u}ller and
M{\\"u}ller: m-u-ller; \\c{c}, \\c c: c-c; {\\ss}: -ss-). Nor is it known which names were ever TeX (a
name harvested in Unicode had no TeX key; some mixed both: Tolúl\\d{o}pé). What is known is that the
old key of a name is one of the few slugs its letters' spellings give (each accented letter in either
TeX form, or in Unicode), computed here from each author's stored name; a name with more than
MOST_SPELLINGS of them (five or more accented letters) gets none. On the cs snapshot of 2025-03 to
2026-07 (5 names stored in TeX), 4 of the 5 old keys are found; the one missed has 7 accented letters.

Each becomes an AuthorAlias of that author unless an author or alias has it already, or the names of
two authors give it (whose it was is then unknown). A current key always wins over an alias (`Author.objects.keyed`),
so an alias that never was an address only leads, as a redirect, to the one author it could have been.
"""

import math
import re
import unicodedata
from collections import defaultdict
from itertools import product

from django.db import migrations

BATCH = 5000
MOST_SPELLINGS = 81  # a name with more (five or more accented letters: rare) gets none
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# The accent commands of 0004's decoder (papers.tex) by the combining mark they put on a letter.
_PUNCTUATION = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=", "\u0307": "."}
_LETTERED = {"\u0306": "u", "\u030c": "v", "\u030b": "H", "\u0327": "c", "\u0323": "d", "\u0331": "b", "\u0328": "k", "\u030a": "r"}  # fmt: skip
# The letters TeX writes with a command of their own, as their slugs: \ss, {\ss} and \ss{} alike
# stand apart from the letters around them; å is also \r{a} or \r a.
_SPECIAL = {
    "ß": ["-ss-"], "ø": ["-o-"], "ł": ["-l-"], "æ": ["-ae-"], "œ": ["-oe-"], "ı": ["-i-"],
    "å": ["-aa-", "-r-a", "-r-a-"],
}  # fmt: skip


def _spellings(letter: str) -> list[str] | None:
    """The slug shapes of the spellings of one lower-case letter in a name stored with TeX; None if
    TeX did not write it (another script, a letter with no TeX command)."""
    if letter.isascii():
        return [letter]
    if letter in _SPECIAL:
        return _SPECIAL[letter]
    base, *marks = unicodedata.normalize("NFD", letter)
    if not (marks and base.isascii() and base.isalpha()):
        return None
    # The first shape: the letter was Unicode in a name with other letters in TeX (Tolúl\d{o}pé),
    # which the old rule folded to its base letter.
    if all(m in _PUNCTUATION for m in marks):  # \"u (joined to what follows) or \"{u}, {\"u}, \~{\^e}
        return [base, f"-{base}", f"-{base}-"]
    if len(marks) == 1 and marks[0] in _LETTERED:  # \c c, or \c{c}, {\c c}
        cmd = _LETTERED[marks[0]].lower()
        return [base, f"-{cmd}-{base}", f"-{cmd}-{base}-"]
    return None


def tex_keys(name: str) -> set[str]:
    """The keys the TeX spellings of `name` had before 0004 (the slug of the TeX as written); empty
    for a name TeX did not write, or with more than MOST_SPELLINGS spellings."""
    lower = name.lower()
    if lower.isascii():
        return set()
    letters = []
    for c in lower:
        shapes = _spellings(c)
        if shapes is None:
            return set()
        letters.append(shapes)
    if math.prod(len(shapes) for shapes in letters) > MOST_SPELLINGS:
        return set()
    keys = {_NOT_SLUG.sub("-", "".join(spelled)).strip("-")[:200] for spelled in product(*letters)}
    return keys - {"", "unknown"}


def alias_tex_keys(apps, schema_editor):  # type: ignore[no-untyped-def]
    db = schema_editor.connection.alias
    authors = apps.get_model("papers", "Author").objects.using(db)
    aliases = apps.get_model("papers", "AuthorAlias").objects.using(db)

    claimed: dict[str, set[int]] = defaultdict(set)  # candidate old key -> the authors whose names give it
    last = 0
    while rows := list(authors.filter(id__gt=last).order_by("id").values_list("id", "key", "name")[:BATCH]):
        last = rows[-1][0]
        for pk, key, name in rows:
            if not name.isascii():
                for old in tex_keys(name) - {key}:
                    claimed[old].add(pk)
    wanted = {k: next(iter(ids)) for k, ids in claimed.items() if len(ids) == 1}
    olds = list(wanted)
    for start in range(0, len(olds), 500):  # SQLite's bound-variable limit
        chunk = olds[start : start + 500]
        taken = set(authors.filter(key__in=chunk).values_list("key", flat=True))
        taken |= set(aliases.filter(key__in=chunk).values_list("key", flat=True))
        aliases.bulk_create([aliases.model(key=k, author_id=wanted[k]) for k in chunk if k not in taken])


class Migration(migrations.Migration):
    dependencies = [("papers", "0006_rekey_authors_keeping_every_letter")]

    operations = [migrations.RunPython(alias_tex_keys, migrations.RunPython.noop)]
