"""URL routes: the admin, the /v1 API and its documentation, and health probes."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
