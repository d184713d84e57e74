from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordChangeForm as DjangoPasswordChangeForm

from paperfeed.accounts import services
from paperfeed.accounts.models import User
from paperfeed.accounts.validators import normalise_email, validate_email_characters, validate_username
from paperfeed.core.text import quoted
from paperfeed.papers import services as papers


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=30,
        help_text="2 to 30 letters, digits, - or _.",
        widget=forms.TextInput({"autocomplete": "username"}),
    )
    email = forms.EmailField(max_length=254, widget=forms.EmailInput({"autocomplete": "email"}))
    password = forms.CharField(
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput({"autocomplete": "new-password"}),
        help_text="12 to 128 characters; not a common password.",
    )

    def clean_username(self) -> str:
        name = self.cleaned_data["username"]
        validate_username(name)
        if User.objects.filter(username__iexact=name).exists():
            raise forms.ValidationError("That username is taken.")
        return name

    def clean_email(self) -> str:
        email = normalise_email(self.cleaned_data["email"])
        validate_email_characters(email)
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "password" in data:
            probe = User(username=data.get("username", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(data["password"], probe)
            except forms.ValidationError as e:
                self.add_error("password", e)
        return data


class LoginForm(forms.Form):
    username = forms.CharField(
        label="Username or email", max_length=254, widget=forms.TextInput({"autocomplete": "username"})
    )
    password = forms.CharField(
        strip=False, max_length=4096, widget=forms.PasswordInput({"autocomplete": "current-password"})
    )


class PasswordChangeForm(DjangoPasswordChangeForm):
    """Django's, with the log-in form's cap on what reaches the hasher (Django's old-password field
    has none) and no autofocus, which would pull the settings page down to it."""

    old_password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput({"autocomplete": "current-password"}),
    )
    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput({"autocomplete": "new-password"}),
        help_text="12 to 128 characters; not a common password.",
    )
    new_password2 = forms.CharField(
        label="New password again",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput({"autocomplete": "new-password"}),
    )


class ResetRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput({"autocomplete": "email"}))

    def clean_email(self) -> str:
        return normalise_email(self.cleaned_data["email"])


class ProfileForm(forms.Form):
    bio = forms.CharField(required=False, max_length=2000, widget=forms.Textarea({"rows": 3}))
    categories = forms.CharField(
        required=False,
        max_length=2000,
        help_text="Category codes, separated by spaces or commas: cs.CL cs.LG",
    )
    # One a line: a name may hold a comma ("Nordling, Torbjörn E. M."), so commas cannot separate them.
    authors = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea({"rows": 4}),
        help_text="One a line: a name as a paper gives it (Ada Lovelace), or an author page's address.",
    )
    # A textarea: a one-line input drops the newlines between the phrases it is given back.
    keywords = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea({"rows": 4}),
        help_text="Words or phrases, one per line (commas separate them too).",
    )

    # An entry that names nothing stored is an error that names it (and nothing of the form is
    # saved), so the user corrects it in the text they typed rather than find it silently gone.

    def clean_categories(self) -> list[str]:
        """The followed categories' codes."""
        values = split_values(self.cleaned_data["categories"], spaces=True)
        codes, unknown = services.resolve_categories(values)
        if unknown:
            raise forms.ValidationError(papers.no_such_categories(unknown, stored_only=True))
        return codes

    def clean_authors(self) -> list[str]:
        """The followed authors' keys."""
        keys, unknown = services.resolve_authors(self.cleaned_data["authors"].splitlines())
        if unknown:
            raise forms.ValidationError(
                f"No author on this site matches {_quoted(unknown)}. Give the name as one of their papers "
                "lists it, or the address of their author page."
            )
        return keys


def _quoted(entries: list[str], limit: int = 10) -> str:
    return ", ".join(quoted(e) for e in entries[:limit]) + (" …" if len(entries) > limit else "")


def split_values(text: str, *, spaces: bool = False) -> list[str]:
    sep = r"[,\n\s]+" if spaces else r"[,\n]+"
    return [v.strip() for v in re.split(sep, text or "") if v.strip()]
