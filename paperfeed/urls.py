from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("paperfeed.api.urls")),
    path("", include("paperfeed.accounts.urls")),
    path("", include("paperfeed.search.urls")),
    path("", include("paperfeed.digests.urls")),
    path("", include("paperfeed.recs.urls")),
    path("", include("paperfeed.moderation.urls")),
    path("", include("paperfeed.feed.urls")),
    path("", include("paperfeed.papers.urls")),
]

handler400 = "paperfeed.core.middleware.bad_request"
handler404 = "paperfeed.core.middleware.not_found"
handler500 = "paperfeed.core.middleware.server_error"
