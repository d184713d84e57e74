"""Signals other apps listen to (search indexes papers after an ingestion run finishes)."""

from django.dispatch import Signal

# Sent once at the end of an import, harvest or fetch run that stored something; kwargs: counts.
papers_ingested = Signal()
