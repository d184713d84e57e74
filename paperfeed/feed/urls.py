from django.urls import path, re_path

from paperfeed.feed import feeds, views

_ID = r"(?P<arxiv_id>[A-Za-z.-]+/\d{7}(?:v\d+)?|\d{4}\.\d{4,5}(?:v\d+)?)"

# The citation formats' extensions (papers.citations.FORMATS): bib, ris, csl.json.
_CITE = r"(?P<ext>bib|ris|csl\.json)"

urlpatterns = [
    path("", views.home, name="home"),
    path("papers", views.daily, name="daily"),
    path("papers/feed", feeds.about(feeds.DailyFeed, feeds.DailyAtom), name="daily-feed"),
    path("papers/feed.rss", feeds.DailyFeed(), name="daily-rss"),
    path("papers/feed.atom", feeds.DailyAtom(), name="daily-atom"),
    path("trending", views.trending, name="trending"),
    path("trending/feed", feeds.about(feeds.TrendingFeed, feeds.TrendingAtom), name="trending-feed"),
    path("trending/feed.rss", feeds.TrendingFeed(), name="trending-rss"),
    path("trending/feed.atom", feeds.TrendingAtom(), name="trending-atom"),
    re_path(rf"^papers/{_ID}$", views.paper, name="paper"),
    re_path(rf"^papers/{_ID}\.md$", views.paper_markdown, name="paper-md"),
    re_path(rf"^papers/{_ID}\.{_CITE}$", views.paper_citation, name="paper-cite"),
    re_path(rf"^papers/{_ID}/vote$", views.vote, name="vote"),
    re_path(rf"^papers/{_ID}/comments$", views.comment, name="comment"),
    re_path(rf"^papers/{_ID}/save$", views.save, name="save"),
    path("papers/<str:text>", views.not_a_paper),  # after every route under papers/
    path("comments/<int:pk>/edit", views.comment_edit, name="comment-edit"),
    path("comments/<int:pk>/hide", views.comment_hide, name="comment-hide"),
    path("submit", views.submit, name="submit"),
    path("search", views.search, name="search"),
    path("cite", views.cite, name="cite"),
    path("library/import", views.library_import, name="library-import"),
    path("search/save", views.save_search, name="search-save"),
    path("search/saved/<int:pk>/delete", views.delete_saved_search, name="search-delete"),
    path("search/saved/<int:pk>/reset", views.reset_saved_search_feed, name="search-reset"),
    path(
        "search/saved/<str:token>/feed",
        feeds.about(feeds.SavedSearchFeed, feeds.SavedSearchAtom),
        name="search-feed",
    ),
    path("search/saved/<str:token>/feed.rss", feeds.SavedSearchFeed(), name="search-rss"),
    path("search/saved/<str:token>/feed.atom", feeds.SavedSearchAtom(), name="search-atom"),
    path("authors/<str:key>", views.author, name="author"),
    path("categories", views.categories, name="categories"),
    path("categories/<str:code>", views.category, name="category"),
    path(
        "categories/<str:code>/feed",
        feeds.about(feeds.CategoryFeed, feeds.CategoryAtom),
        name="category-feed",
    ),
    path("categories/<str:code>/feed.rss", feeds.CategoryFeed(), name="category-rss"),
    path("categories/<str:code>/feed.atom", feeds.CategoryAtom(), name="category-atom"),
    path("follow", views.follow, name="follow"),
    path("users/<str:username>", views.user_page, name="user"),
    re_path(
        rf"^users/(?P<username>[^/]+)/collections/(?P<slug>[^/.]+)\.{_CITE}$",
        views.collection_citation,
        name="collection-cite",
    ),
    path("users/<str:username>/collections/<str:slug>", views.collection, name="collection"),
    path("users/<str:username>/collections/<str:slug>/edit", views.collection_edit, name="collection-edit"),
]
