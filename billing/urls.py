"""URL routes: the admin, the /v1 API and its documentation, and health probes.

Order matters: wallet routes come first so /v1/customers/wallets wins over /v1/customers/{id}.
No route has a trailing slash and APPEND_SLASH is off: a redirect would turn the SDK's POST into a GET.
The OpenAPI document, Swagger UI, ReDoc and the probes need no API key.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from backoffice.views import find_view
from core.api import health

public = {"authentication_classes": [], "permission_classes": [AllowAny]}
# Plain application/json first (what clients and Schemathesis expect); the OpenAPI media type on request.
openapi_renderers = [OpenApiJsonRenderer2, OpenApiJsonRenderer]

urlpatterns = [
    # The one search box (backoffice.search) lives beside the admin, behind its login and staff check.
    path("admin/find/", admin.site.admin_view(find_view), name="backoffice_find"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("v1/openapi.json", SpectacularJSONAPIView.as_view(renderer_classes=openapi_renderers, **public), name="openapi"),
    # The split view serves Swagger UI's start-up script as a file, so the CSP needs no inline script.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi", **public), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="openapi", template_name="api_docs/redoc.html", **public), name="redoc"),
    path("v1/", include("wallets.api.urls")),
    path("v1/", include("customers.api.urls")),
    path("v1/", include("invoices.api.urls")),
]

handler404 = "core.api.errors.json_not_found"
handler500 = "core.api.errors.json_server_error"
