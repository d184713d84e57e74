from django.urls import path, re_path

from paperfeed.moderation import views

_ID = r"(?P<ref>[A-Za-z.-]+/\d{7}|\d{4}\.\d{4,5})"

urlpatterns = [
    re_path(rf"^report/(?P<kind>paper)/{_ID}$", views.report, name="report"),
    re_path(r"^report/(?P<kind>comment)/(?P<ref>\d{1,18})$", views.report, name="report-comment"),
    path("moderation", views.queue, name="moderation"),
    path("moderation/log", views.log, name="moderation-log"),
    path("moderation/users/<str:username>", views.account, name="moderation-user"),
    path("moderation/act", views.act, name="moderation-act"),
]
