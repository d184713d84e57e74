from django.urls import path

from paperfeed.recs import feeds, views

urlpatterns = [
    path("for-you", views.for_you, name="for-you"),
    path("for-you/feed/reset", views.reset_feed, name="for-you-feed-reset"),
    path("for-you/<str:token>/feed", feeds.about, name="for-you-feed"),
    path("for-you/<str:token>/feed.rss", feeds.ForYouFeed(), name="for-you-rss"),
    path("for-you/<str:token>/feed.atom", feeds.ForYouAtom(), name="for-you-atom"),
    path("for-you/not-interested", views.marked_not_interested, name="not-interested-list"),
    path("for-you/<path:arxiv_id>/not-interested", views.not_interested, name="not-interested"),
    path("for-you/<path:arxiv_id>/open", views.opened, name="for-you-open"),
]
