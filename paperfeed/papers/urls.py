from django.urls import path, re_path

from paperfeed.papers import views

urlpatterns = [
    path("", views.latest, name="home"),
    path("healthz", views.healthz, name="healthz"),
    re_path(
        r"^papers/(?P<arxiv_id>[A-Za-z.-]+/\d{7}(?:v\d+)?|\d{4}\.\d{4,5}(?:v\d+)?)$",
        views.detail,
        name="paper",
    ),
]
