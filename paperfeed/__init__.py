"""paperfeed: a self-hostable research-paper discovery service (see DESIGN.md beside the repo)."""

__version__ = "0.1.0"
