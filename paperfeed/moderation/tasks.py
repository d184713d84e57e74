"""Moderation runs no background jobs: a report and every action take effect at once."""
