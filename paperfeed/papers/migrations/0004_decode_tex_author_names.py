"""Imports before the names were decoded stored arXiv's TeX as written: an author "Hans M\\"uller"
with the key "hans-m-uller", beside the "Hans Müller" ("hans-muller") another source spelled in
Unicode. Decode the stored names and keys; where a decoded key is already taken, the two are one
person: their authorships move to the author kept (at the positions they had, so each paper's order
stays) and the duplicate goes. Follows and digest subscriptions of a changed key follow it, and each
changed paper gets a PaperChange so the search indexes pick up its names."""

from django.db import migrations


def decode_author_names(apps, schema_editor):  # type: ignore[no-untyped-def]
    from paperfeed.papers.records import AuthorName, slugify_name
    from paperfeed.papers.tex import decode_name

    # The database being migrated, not "default": `paperfeed copydb` migrates its target this way.
    db = schema_editor.connection.alias
    authors = apps.get_model("papers", "Author").objects.using(db)
    authorships = apps.get_model("papers", "Authorship").objects.using(db)
    papers = apps.get_model("papers", "Paper").objects.using(db)
    changes = apps.get_model("papers", "PaperChange").objects.using(db)
    follows = apps.get_model("accounts", "Follow").objects.using(db)
    subscribers = apps.get_model("digests", "Subscriber").objects.using(db)

    renamed: dict[str, str] = {}  # old key -> new key
    changed: set[int] = set()  # paper ids
    # Ordered by id: of several raw spellings of one name, the oldest row is the one kept.
    for author in list(authors.filter(name__contains="\\").order_by("id")):
        old, name = author.key, decode_name(author.name)[:300]
        key = slugify_name(name)
        changed.update(authorships.filter(author_id=author.id).values_list("paper_id", flat=True))
        kept = authors.filter(key=key).exclude(id=author.id).first()
        if kept is not None:
            authorships.filter(author_id=author.id).update(author_id=kept.id)
            author.delete()
        else:
            author.key, author.name = key, name
            author.save(update_fields=["key", "name"])
        renamed[old] = key

    changed.update(papers.filter(authors_text__contains="\\").values_list("id", flat=True))
    ids = sorted(changed)
    for start in range(0, len(ids), 500):  # SQLite's bound-variable limit
        for paper in papers.filter(id__in=ids[start : start + 500]).only("id", "authors", "authors_text"):
            paper.authors = [_decoded(entry, renamed, AuthorName) for entry in paper.authors]
            paper.authors_text = decode_name(paper.authors_text)
            paper.save(update_fields=["authors", "authors_text"])
    changes.bulk_create([changes.model(paper_id=pk) for pk in ids], batch_size=500)

    renamed = {old: new for old, new in renamed.items() if old != new}
    for old, new in renamed.items():
        for follow in follows.filter(kind="author", value=old):
            if follows.filter(user_id=follow.user_id, kind="author", value=new).exists():
                follow.delete()
            else:
                follow.value = new
                follow.save(update_fields=["value"])
    if renamed:
        for sub in subscribers.only("id", "authors").iterator():
            keys = list(dict.fromkeys(renamed.get(k, k) for k in sub.authors or []))
            if keys != (sub.authors or []):
                sub.authors = keys
                sub.save(update_fields=["authors"])


def _decoded(entry, renamed, author_name):  # type: ignore[no-untyped-def]
    """A paper's stored name with its TeX decoded, keyed as its Author row now is."""
    parts = [entry.get(f, "") for f in ("keyname", "forenames", "suffix")]
    if not any("\\" in p for p in [*parts, entry.get("name", "")]):
        return entry
    if not parts[0]:  # a name stored without its parts: decode the display form as a whole
        parts = [entry.get("name", ""), "", ""]
    fresh = author_name(*parts).as_json()
    fresh["key"] = renamed.get(entry.get("key", ""), fresh["key"])
    return fresh


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0003_drop_unused_like_indexes"),
        ("accounts", "0003_username_rule_and_nfkc_emails"),
        ("digests", "0003_delivery_drop_redundant_fk_indexes"),
    ]

    operations = [migrations.RunPython(decode_author_names, migrations.RunPython.noop)]
