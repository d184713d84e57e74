from django.apps import apps
from django.urls import path

from paperfeed.api.views import TokenAuth, api, with_errors

# Other apps add their endpoints here (an AppConfig with `mount_api`), never the API importing them:
# the site's API is built when the URLs are first resolved, not at every process start.
for config in apps.get_app_configs():
    mount = getattr(config, "mount_api", None)
    if mount is not None:
        mount(api, TokenAuth(), with_errors)

urlpatterns = [path("api/", api.urls)]
