"""Signals the accounts app sends; the apps that keep something of a user's connect to them at
start-up, so accounts imports none of them (as papers.signals for ingestion)."""

from typing import NamedTuple

from django.dispatch import Signal

# Sent when a stored account's password was changed, reset or turned off, inside the save's
# transaction; kwargs: user. It is the owner's "someone may have my secrets" moment, so each app
# gives the user's private feed addresses new tokens here and returns a Replaced saying what it
# replaced, or None when the user has none (the confirmation and the notice mail say so). API tokens
# are not touched: the owner revokes them on /settings.
password_changed = Signal()


class Replaced(NamedTuple):
    """What a receiver of password_changed gave new addresses, as the notice says it."""

    what: str  # in words, for the owner: 'your “for you” feed'
    where: str  # the site's path where the new address is shown
