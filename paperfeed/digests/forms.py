from __future__ import annotations

import re
from typing import Any

from django import forms

from paperfeed.digests.models import Frequency, Subscriber

_CATEGORY = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")
_AUTHOR = re.compile(r"^[\w.-]+$")


class SubscribeForm(forms.Form):
    email = forms.CharField(max_length=320, strip=False)
    frequency = forms.ChoiceField(choices=Frequency.choices, required=False)


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text) if w]


class SettingsForm(forms.ModelForm):
    categories_text = forms.CharField(required=False, label="Categories", help_text="e.g. cs.CL cs.LG")
    authors_text = forms.CharField(
        required=False, label="Authors", help_text="author keys, e.g. yoshua-bengio"
    )
    searches_text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Saved searches",
        help_text="one per line, e.g. speculative decoding cat:cs.CL",
    )
    send_hour = forms.TypedChoiceField(coerce=int, choices=[(h, f"{h:02d}:00 UTC") for h in range(24)])

    class Meta:
        model = Subscriber
        fields = ["frequency", "send_hour", "trending", "follows", "alerts", "for_you", "send_empty"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sub = self.instance
        self.fields["categories_text"].initial = " ".join(sub.categories or [])
        self.fields["authors_text"].initial = " ".join(sub.authors or [])
        self.fields["searches_text"].initial = "\n".join(sub.searches or [])

    def clean_categories_text(self) -> list[str]:
        cats = _words(self.cleaned_data["categories_text"])
        if bad := [c for c in cats if not _CATEGORY.match(c)]:
            raise forms.ValidationError(f"Not a category code: {bad[0][:40]}")
        if len(cats) > 50:
            raise forms.ValidationError("At most 50 categories.")
        return list(dict.fromkeys(cats))

    def clean_authors_text(self) -> list[str]:
        authors = _words(self.cleaned_data["authors_text"])
        if bad := [a for a in authors if not _AUTHOR.match(a) or len(a) > 200]:
            raise forms.ValidationError(f"Not an author key: {bad[0][:40]}")
        if len(authors) > 100:
            raise forms.ValidationError("At most 100 authors.")
        return list(dict.fromkeys(authors))

    def clean_searches_text(self) -> list[str]:
        lines = [" ".join(line.split()) for line in self.cleaned_data["searches_text"].splitlines()]
        lines = [line for line in lines if line]
        if any(len(line) > 200 for line in lines):
            raise forms.ValidationError("A saved search is at most 200 characters.")
        if len(lines) > 20:
            raise forms.ValidationError("At most 20 saved searches.")
        return list(dict.fromkeys(lines))

    def save(self, commit: bool = True) -> Subscriber:
        sub: Subscriber = super().save(commit=False)
        sub.categories = self.cleaned_data["categories_text"]
        sub.authors = self.cleaned_data["authors_text"]
        sub.searches = self.cleaned_data["searches_text"]
        if commit:
            sub.save()
        return sub
