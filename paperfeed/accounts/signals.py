"""Signals the accounts app sends; the apps that keep something of a user's connect to them at
start-up, so accounts imports none of them (as papers.signals for ingestion)."""

from django.dispatch import Signal

# Sent when a stored account's password was changed, reset or turned off, inside the save's
# transaction; kwargs: user. It is the owner's "someone may have my secrets" moment, so each app
# gives the user's private feed addresses new tokens here and returns how many it replaced (the
# confirmation says so). API tokens are not touched: the owner revokes them on /settings.
password_changed = Signal()
