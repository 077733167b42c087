"""Customer routes under /v1."""

urlpatterns = []
