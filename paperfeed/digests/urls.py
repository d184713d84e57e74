from django.urls import path
from django.views.generic import RedirectView

from paperfeed.digests import views

app_name = "digests"

urlpatterns = [
    path("subscribe", views.subscribe, name="subscribe"),
    path("digests/confirm/<str:token>", views.confirm, name="confirm"),
    path("digests/unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("digests", RedirectView.as_view(pattern_name="digests:my-settings")),  # where the header's link goes
    path("digests/settings", views.my_settings, name="my-settings"),
    path("digests/settings/<str:token>", views.manage, name="manage"),
]
