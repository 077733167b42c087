"""Customer routes under /v1. Static segments come before ``{id}`` (``/customers/search`` and
``/customers/external/...`` must not be read as ids); billing.urls includes the wallet routes
first so that ``/customers/wallets`` wins too. No trailing slashes: a redirect loses the SDK's POST."""

from django.urls import path

from customers.api.views import CustomerViewSet

urlpatterns = [
    path(
        "customers",
        CustomerViewSet.as_view({"get": "list_customers", "post": "create", "put": "update_by_query"}),
        name="customer-list",
    ),
    path("customers/search", CustomerViewSet.as_view({"post": "search"}), name="customer-search"),
    path(
        "customers/external/<str:external_id>",
        CustomerViewSet.as_view({"get": "retrieve_by_external_id"}),
        name="customer-by-external-id",
    ),
    path(
        "customers/<str:id>",
        CustomerViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
        name="customer-detail",
    ),
]
