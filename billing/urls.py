"""URL routes: the admin, the /v1 API and its documentation, and health probes.

Order matters: wallet routes come first so /v1/customers/wallets wins over /v1/customers/{id}.
No route has a trailing slash and APPEND_SLASH is off: a redirect would turn the SDK's POST into a GET.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("wallets.api.urls")),
    path("v1/", include("customers.api.urls")),
]

handler404 = "core.api.errors.json_not_found"
handler500 = "core.api.errors.json_server_error"
