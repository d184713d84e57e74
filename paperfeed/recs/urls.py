from django.urls import path

from paperfeed.recs import views

urlpatterns = [
    path("for-you", views.for_you, name="for-you"),
    path("for-you/not-interested", views.marked_not_interested, name="not-interested-list"),
    path("for-you/<path:arxiv_id>/not-interested", views.not_interested, name="not-interested"),
    path("for-you/<path:arxiv_id>/open", views.opened, name="for-you-open"),
]
