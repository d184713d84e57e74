"""Author keys used to drop the Latin letters NFKD does not split into letter + accent ("Matthias
Nießner" was matthias-niener, "Łukasz Kaiser" ukasz-kaiser) and every letter of other scripts (a
Greek or Chinese name was "unknown", one page for all of them). `records.slugify_name` now writes
those letters out; this re-keys what is stored.

The key of each name a paper lists is computed again from the paper's own names (`Paper.authors`),
so an author row that held several people under one key ("unknown") is split by name. Where a
name's new key is already an author's, the authorships move to that author (at their positions: each
paper's order stays); an author row left with none goes. Each key that no longer names an author
becomes an `AuthorAlias` of the author that took most of its papers, so old addresses redirect, and
follows and digest subscriptions of it move to the new key. Changed papers get a PaperChange so the
search indexes pick up their keys. Only names with non-ASCII letters can change, so the scan decodes
every paper's names once and computes a key for a few thousand of them.
"""

from collections import Counter, defaultdict

from django.db import migrations

BATCH = 2000


def rekey_authors(apps, schema_editor):  # type: ignore[no-untyped-def]
    from paperfeed.papers.records import slugify_name

    db = schema_editor.connection.alias
    authors = apps.get_model("papers", "Author").objects.using(db)
    aliases = apps.get_model("papers", "AuthorAlias").objects.using(db)
    authorships = apps.get_model("papers", "Authorship").objects.using(db)
    papers = apps.get_model("papers", "Paper").objects.using(db)
    changes = apps.get_model("papers", "PaperChange").objects.using(db)

    # 1. The papers listing a name whose key is not the one stored: their names with new keys.
    fixed: dict[int, tuple[list[dict], list[dict]]] = {}  # paper id -> its names, before and after
    last = 0
    while rows := list(papers.filter(id__gt=last).order_by("id").values_list("id", "authors")[:BATCH]):
        last = rows[-1][0]
        for pk, entries in rows:
            if all(e.get("name", "").isascii() for e in entries):
                continue
            fresh = [
                e if e.get("name", "").isascii() else {**e, "key": slugify_name(e.get("name", ""))}
                for e in entries
            ]
            if fresh != entries:
                fixed[pk] = (entries, fresh)

    # 2. Which authorship each changed name is: a paper's authorships are its distinct names in
    # order, so the i-th name stored under a key is the i-th authorship of that key's author.
    moves: dict[int, list[tuple[int, str, str]]] = defaultdict(list)  # author -> (authorship, key, name)
    ids = sorted(fixed)
    for start in range(0, len(ids), 500):  # SQLite's bound-variable limit
        chunk = ids[start : start + 500]
        held: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
        for sid, pk, author_id, key in (
            authorships.filter(paper_id__in=chunk)
            .order_by("paper_id", "position")
            .values_list("id", "paper_id", "author_id", "author__key")
        ):
            held[pk, key].append((sid, author_id))
        for pk in chunk:
            seen: set[tuple] = set()
            turn: Counter[str] = Counter()
            for old, new in zip(*fixed[pk], strict=True):
                ident = tuple(old.get(f, "") for f in ("keyname", "forenames", "suffix", "name", "key"))
                if ident in seen:
                    continue
                seen.add(ident)
                slots = held.get((pk, old.get("key", "")), [])
                i = turn[old.get("key", "")]
                turn[old.get("key", "")] += 1
                if i < len(slots) and new["key"] != old.get("key"):
                    moves[slots[i][1]].append((slots[i][0], new["key"], new.get("name", "")[:300]))

    # 3. Each author whose names changed key: renamed in place when all its papers go to one key
    # nobody has, else its authorships move to the author of each new key (made if there is none).
    wanted = {key for rows in moves.values() for _, key, _ in rows}
    owner = dict(authors.filter(key__in=wanted).values_list("key", "id"))
    gone: dict[str, int] = {}  # old key -> the author most of its papers went to
    for author_id in sorted(moves):
        author = authors.get(id=author_id)
        by_key: dict[str, list[int]] = defaultdict(list)
        names: dict[str, str] = {}
        for sid, key, name in moves[author_id]:
            by_key[key].append(sid)
            names.setdefault(key, name)
        left = authorships.filter(author_id=author_id).count() - len(moves[author_id])
        if not left and len(by_key) == 1 and next(iter(by_key)) not in owner:
            key = next(iter(by_key))
            gone[author.key] = author_id
            author.key, author.name = key, names[key]
            author.save(update_fields=["key", "name"])
            owner[key] = author_id
            continue
        for key, sids in by_key.items():
            if key not in owner:
                owner[key] = authors.create(key=key, name=names[key]).id
            for start in range(0, len(sids), 500):
                authorships.filter(id__in=sids[start : start + 500]).update(author_id=owner[key])
        if not left and not authorships.filter(author_id=author_id).exists():
            most = max(by_key, key=lambda k: len(by_key[k]))
            gone[author.key] = owner[most]
            aliases.filter(author_id=author_id).update(author_id=owner[most])
            author.delete()

    # 4. Old keys lead to their authors, unless an author has that key now. "unknown" never named
    # one person: it is nobody's alias.
    gone.pop("unknown", None)
    taken = set(authors.filter(key__in=list(gone)).values_list("key", flat=True))
    gone = {k: v for k, v in gone.items() if k not in taken}
    known = set(aliases.filter(key__in=list(gone)).values_list("key", flat=True))
    aliases.bulk_create(
        [aliases.model(key=k, author_id=v) for k, v in gone.items() if k not in known], batch_size=500
    )
    renamed = dict(aliases.filter(key__in=list(gone)).values_list("key", "author__key"))

    for start in range(0, len(ids), 500):
        for paper in papers.filter(id__in=ids[start : start + 500]).only("id", "authors"):
            paper.authors = fixed[paper.id][1]
            paper.save(update_fields=["authors"])
    changes.bulk_create([changes.model(paper_id=pk) for pk in ids], batch_size=500)
    carry_follows(apps, db, renamed)


def carry_follows(apps, db, renamed):  # type: ignore[no-untyped-def]
    """Follows and digest subscriptions of an old key become ones of the key it now redirects to."""
    follows = apps.get_model("accounts", "Follow").objects.using(db)
    subscribers = apps.get_model("digests", "Subscriber").objects.using(db)
    olds = list(renamed)
    for start in range(0, len(olds), 500):
        for follow in follows.filter(kind="author", value__in=olds[start : start + 500]):
            new = renamed[follow.value]
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


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0005_author_alias"),
        ("accounts", "0003_username_rule_and_nfkc_emails"),
        ("digests", "0003_delivery_drop_redundant_fk_indexes"),
    ]

    operations = [migrations.RunPython(rekey_authors, migrations.RunPython.noop)]
