"""Wallet routes under /v1 (static segments before ids: /wallets/search wins over /wallets/{id}).

``/customers/wallets`` and ``/customers/{id}/wallets`` live here too: billing.urls includes this
module before the customer routes, so ``customers/wallets`` is never read as a customer id.
No trailing slashes: a redirect would turn the SDK's POST into a GET.
"""

from django.urls import path

from wallets.api.holds import HoldViewSet
from wallets.api.previews import DebitPreviewViewSet
from wallets.api.transfers import WalletTransferViewSet
from wallets.api.views import CustomerWalletViewSet, WalletTransactionViewSet, WalletViewSet
from wallets.api.voids import LotVoidViewSet

urlpatterns = [
    path("wallets", WalletViewSet.as_view({"get": "list_wallets", "post": "create"}), name="wallet-list"),
    path("wallets/search", WalletViewSet.as_view({"post": "search"}), name="wallet-search"),
    path(
        "wallets/transactions/search",
        WalletTransactionViewSet.as_view({"post": "search"}),
        name="wallet-transaction-search",
    ),
    # Voids and refunds of one credit lot (wallets.api.voids)
    path("wallets/transactions/<str:id>/void", LotVoidViewSet.as_view({"post": "void"}), name="wallet-transaction-void"),
    path("wallets/transactions/<str:id>/refund", LotVoidViewSet.as_view({"post": "refund"}), name="wallet-transaction-refund"),
    # Transfers (wallets.api.transfers), before wallets/{id}.
    path("wallets/transfers", WalletTransferViewSet.as_view({"post": "create"}), name="wallet-transfer-list"),
    path("wallets/transfers/<str:id>", WalletTransferViewSet.as_view({"get": "retrieve"}), name="wallet-transfer-detail"),
    path("wallets/<str:id>", WalletViewSet.as_view({"get": "retrieve", "put": "update"}), name="wallet-detail"),
    path("wallets/<str:id>/top-up", WalletViewSet.as_view({"post": "top_up"}), name="wallet-top-up"),
    path("wallets/<str:id>/debit", WalletViewSet.as_view({"post": "debit"}), name="wallet-debit"),
    path("wallets/<str:id>/debit/preview", DebitPreviewViewSet.as_view({"post": "preview"}), name="wallet-debit-preview"),
    path("wallets/<str:id>/terminate", WalletViewSet.as_view({"post": "terminate"}), name="wallet-terminate"),
    path("wallets/<str:id>/freeze", WalletViewSet.as_view({"post": "freeze"}), name="wallet-freeze"),
    path("wallets/<str:id>/unfreeze", WalletViewSet.as_view({"post": "unfreeze"}), name="wallet-unfreeze"),
    path(
        "wallets/<str:id>/balance/real-time",
        WalletViewSet.as_view({"get": "real_time_balance"}),
        name="wallet-balance",
    ),
    path(
        "wallets/<str:id>/balance/real-time-cached",
        WalletViewSet.as_view({"get": "real_time_balance_cached"}),
        name="wallet-balance-cached",
    ),
    path(
        "wallets/<str:id>/transactions",
        WalletViewSet.as_view({"get": "transactions"}),
        name="wallet-transactions",
    ),
    # Holds (wallets.api.holds): a hold's own routes are top-level, so no wallet catch-all can shadow them.
    path("wallets/<str:id>/holds", HoldViewSet.as_view({"get": "list_holds", "post": "create"}), name="wallet-holds"),
    path("holds/<str:id>", HoldViewSet.as_view({"get": "retrieve"}), name="hold-detail"),
    path("holds/<str:id>/capture", HoldViewSet.as_view({"post": "capture"}), name="hold-capture"),
    path("holds/<str:id>/release", HoldViewSet.as_view({"post": "release"}), name="hold-release"),
    path("customers/wallets", CustomerWalletViewSet.as_view({"get": "by_lookup"}), name="customer-wallets"),
    path(
        "customers/<str:id>/wallets",
        CustomerWalletViewSet.as_view({"get": "by_customer"}),
        name="customer-wallets-by-id",
    ),
]
