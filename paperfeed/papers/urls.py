from django.urls import path

from paperfeed.papers import views

# The pages showing papers (home, daily lists, the paper page) are the feed app's.
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
