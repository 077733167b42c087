"""Invoice and payment routes under /v1 (/invoices/search before /invoices/{id})."""

from django.urls import path

from invoices.api.views import InvoiceViewSet, PaymentViewSet

urlpatterns = [
    path("invoices/search", InvoiceViewSet.as_view({"post": "search"}), name="invoice-search"),
    path("invoices/<str:id>", InvoiceViewSet.as_view({"get": "retrieve"}), name="invoice-detail"),
    path("invoices/<str:id>/void", InvoiceViewSet.as_view({"post": "void"}), name="invoice-void"),
    path("payments", PaymentViewSet.as_view({"post": "create"}), name="payment-create"),
]
