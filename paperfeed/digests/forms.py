from __future__ import annotations

import re
from typing import Any

from django import forms

from paperfeed.core.text import quoted
from paperfeed.digests import services
from paperfeed.digests.models import Frequency, Subscriber
from paperfeed.papers import services as papers
from paperfeed.papers.models import Author, Category


class SubscribeForm(forms.Form):
    email = forms.CharField(max_length=320, strip=False)
    frequency = forms.ChoiceField(choices=Frequency.choices, required=False)


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text) if w]


def _entries(text: str) -> list[str]:
    """Authors are separated by commas, semicolons or lines: a name has spaces in it."""
    return [" ".join(e.split()) for e in re.split(r"[,;\n]+", text) if e.strip()]


def _listed(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(quoted(i, 60) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def resolve_author(entry: str) -> list[str]:
    """The author keys an entry stands for: one author as the site's follow form reads them (a key
    such as "xiaohua-feng", a name as on the papers, an author page's address), or the
    space-separated keys this form used to save. [] if unknown."""
    if hit := papers.author_key(entry, papers.stored_author_keys([entry])):
        return [hit]
    words = entry.split()
    if len(words) > 1 and Author.objects.filter(key__in=words).count() == len(set(words)):
        return list(dict.fromkeys(words))
    return []


class SettingsForm(forms.ModelForm):
    categories_text = forms.CharField(
        required=False, label="Categories", help_text="arXiv category codes, e.g. cs.CL cs.LG"
    )
    authors_text = forms.CharField(
        required=False,
        label="Authors",
        help_text="names as on their papers, separated by commas, e.g. Yoshua Bengio, Xiaohua Feng",
    )
    searches_text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Saved searches",
        help_text="one per line, e.g. speculative decoding cat:cs.CL",
    )
    send_hour = forms.TypedChoiceField(
        coerce=int, choices=[(h, f"{h:02d}:00 UTC") for h in range(24)], label="Send at"
    )

    class Meta:
        model = Subscriber
        fields = ["frequency", "send_hour", "trending", "follows", "alerts", "for_you", "send_empty"]
        labels = {
            "frequency": "How often",
            "trending": "Trending",
            "follows": "From what you follow",
            "alerts": "Alerts",
            "for_you": "For you",
            "send_empty": "Send empty",
        }
        help_texts = {
            "frequency": "daily goes out on weekdays, weekly on Mondays",
            "trending": "the community's most upvoted new papers",
            "follows": "new papers in the categories and by the authors below",
            "alerts": "new papers with every word of one of your saved searches",
            "for_you": "recommendations from your upvotes and saved papers on the site",
            "send_empty": "send the digest even when it has no papers, so you know it still comes",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sub = self.instance
        if sub.user_id is None:
            self.fields[
                "for_you"
            ].help_text += "; only for an address tied to an account, so it adds nothing to this one"
        names = dict(Author.objects.filter(key__in=sub.authors or []).values_list("key", "name"))
        self.fields["categories_text"].initial = " ".join(sub.categories or [])
        self.fields["authors_text"].initial = ", ".join(names.get(k, k) for k in sub.authors or [])
        self.fields["searches_text"].initial = "\n".join(sub.searches or [])

    @property
    def section_fields(self) -> list[forms.BoundField]:
        """The switches, shown together with what each section is."""
        return [self[name] for name in ("trending", "follows", "alerts", "for_you", "send_empty")]

    def clean_categories_text(self) -> list[str]:
        cats = _words(self.cleaned_data["categories_text"])
        if len(cats) > 50:
            raise forms.ValidationError("At most 50 categories.")
        known = {c.lower(): c for c in Category.objects.values_list("code", flat=True)}
        if unknown := [c for c in cats if c.lower() not in known]:
            raise forms.ValidationError(papers.no_such_categories(unknown, stored_only=True))
        return list(dict.fromkeys(known[c.lower()] for c in cats))

    def clean_authors_text(self) -> list[str]:
        entries = _entries(self.cleaned_data["authors_text"])
        if len(entries) > 100:
            raise forms.ValidationError("At most 100 authors.")
        keys: list[str] = []
        unknown = []
        for entry in entries:
            found = resolve_author(entry) if len(entry) <= 300 else []
            keys += found
            if not found:
                unknown.append(entry)
        if unknown:
            raise forms.ValidationError(
                f"No author of that name among the papers here: {_listed(unknown)}. Write names as on "
                "their papers, separated by commas."
            )
        return list(dict.fromkeys(keys))

    def clean_searches_text(self) -> list[str]:
        lines = [" ".join(line.split()) for line in self.cleaned_data["searches_text"].splitlines()]
        lines = [line for line in lines if line]
        if problem := services.searches_problem(lines):
            raise forms.ValidationError(problem)
        return list(dict.fromkeys(lines))

    def save(self, commit: bool = True) -> Subscriber:
        sub: Subscriber = super().save(commit=False)
        sub.categories = self.cleaned_data["categories_text"]
        sub.authors = self.cleaned_data["authors_text"]
        sub.searches = self.cleaned_data["searches_text"]
        if commit:
            sub.save()
        return sub
