from django.urls import path

from paperfeed.api.views import api

urlpatterns = [path("api/", api.urls)]
