"""A user's library imported into a collection: the papers it names become saved papers, so "For
you" starts from them. All or nothing: the file is read and matched before anything is written,
and what is written is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from paperfeed.accounts.models import User
from paperfeed.feed import services
from paperfeed.feed.models import Collection, CollectionItem
from paperfeed.papers import references
from paperfeed.papers.references import LibraryError, Outcome

DEFAULT_COLLECTION = "Imported library"


@dataclass
class Imported:
    collection: Collection
    outcomes: list[Outcome]
    added: int  # saved now; the other matches were in the collection already

    @property
    def matched(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.paper is not None]

    @property
    def unmatched(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.paper is None]

    def as_json(self) -> dict[str, Any]:
        c = self.collection
        return {
            "collection": {
                "name": c.name,
                "slug": c.slug,
                # Absolute, as the links of mails and feeds: a script reads this away from the site.
                "url": settings.BASE_URL + reverse("collection", args=[c.user.username, c.slug]),
            },
            "read": len(self.outcomes),
            "matched": len(self.matched),
            "added": self.added,
            "unmatched": len(self.unmatched),
            "entries": [
                {
                    "entry": o.reference.label,
                    "id": o.paper.arxiv_id if o.paper else None,
                    "by": o.how or None,
                    "reason": o.reason or None,
                }
                for o in self.outcomes
            ],
        }


def import_library(
    user: User, data: bytes | str, *, name: str = "", collection: Collection | None = None, new_name: str = ""
) -> Imported:
    """Read `data` (a .bib or .ris file, or pasted ids; `name` is the file's name), match its entries
    and save the matches into `collection`, or a collection named `new_name` (made if the user has
    none of that name). Raises LibraryError for a file that cannot be read: nothing is saved then."""
    if collection is not None and collection.user_id != user.pk:
        raise LibraryError("you can import only into your own collections")
    outcomes = references.match(references.read(data, name))
    with transaction.atomic():
        if collection is None:
            collection = services.save_target(user, new_name or DEFAULT_COLLECTION)
        pks = list(dict.fromkeys(o.paper.pk for o in outcomes if o.paper is not None))
        already = set(CollectionItem.objects.filter(collection=collection).values_list("paper_id", flat=True))
        new = [pk for pk in pks if pk not in already]
        # In one statement, without the per-row hooks: the recommendation profile notices the new
        # saves by its fingerprint and is rebuilt once at the next request, not updated 5,000 times.
        CollectionItem.objects.bulk_create(
            [CollectionItem(collection=collection, paper_id=pk) for pk in new], ignore_conflicts=True
        )
    return Imported(collection, outcomes, len(new))
