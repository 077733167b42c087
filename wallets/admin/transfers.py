"""Support back-office for transfers (issue 14): the list of WalletTransfer records and each one's page.

Read-only, as every ledger page: a transfer is written by wallets.services.transfers (the API or
the wallet page's "Transfer credits…"). The list filters by date and currency, finds a transfer by
its id, either wallet's id, the customer's id or external id, or the idempotency key (the
debit's), and exports exactly the rows it selects as CSV. A transfer's page links its debit and
its credits, and lists the lots it moved: each lot the debit took on the source wallet and the
credit that carries its credits, expiry and priority on the destination.
"""

from decimal import Decimal

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from core.admin import CsvExportMixin, ReadOnlyModelAdmin, csv_cell
from core.admin_cells import amount, moment, short_id, truncated
from wallets import selectors as wallet_selectors
from wallets.admin.display import change_url, credits
from wallets.admin.wallet import EXPORT_PERMISSION, SUPPORT_CSS, CurrencyFilter
from wallets.ledger.transfers import SOURCE_LOT_KEY
from wallets.models import WalletTransaction, WalletTransfer


class TransferCurrencyFilter(CurrencyFilter):
    field = "from_wallet__currency"  # both wallets share it (wallets.services.transfers.check_pair)


def _row_link(row_id: str) -> str:
    return short_id(row_id, change_url(WalletTransaction(pk=row_id)))


@admin.register(WalletTransfer)
class WalletTransferAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    list_display = ["id_column", "created_column", "from_column", "to_column", "credits_column", "created_by_column"]
    list_display_links = None  # the id column links the page itself, with its copy button
    list_filter = [("created_at", admin.DateFieldListFilter), TransferCurrencyFilter]
    search_fields = [
        "=id",
        "=from_wallet__id",
        "=to_wallet__id",
        "=customer__id",
        "=customer__external_id",
        "=debit__idempotency_key",
    ]
    search_help_text = "Transfer id, either wallet's id, customer id or external id, or idempotency key (exact)."
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    export_columns = [
        "id",
        "created_at",
        "tenant_id",
        "environment_id",
        "customer_id",
        "customer__external_id",
        "from_wallet_id",
        "to_wallet_id",
        "from_wallet__currency",
        "credits",
        "debit_id",
        "debit__idempotency_key",
        "created_by",
    ]
    export_filename = "wallet-transfers"
    export_permission = EXPORT_PERMISSION  # a ledger export, as the transactions' CSV

    class Media:
        css = {"all": [SUPPORT_CSS]}

    fieldsets = [
        (
            "Transfer",
            {
                "fields": [
                    "id",
                    "customer_column",
                    "from_column",
                    "to_column",
                    "credits_column",
                    "created_at",
                    "created_by",
                    "idempotency_key_column",
                    "description_column",
                ]
            },
        ),
        ("Ledger rows", {"fields": ["rows_column"]}),
        ("Lots moved", {"fields": ["lots_column"]}),
        ("Record", {"classes": ["collapse"], "fields": ["tenant", "environment"]}),
    ]

    def get_queryset(self, request):
        # Joined, not read per row: both wallets (the list's columns), the debit and the customer (a transfer's page).
        return super().get_queryset(request).select_related("debit", "from_wallet", "to_wallet", "customer")

    def export_cell(self, value) -> str:
        # Credits in the API's wire form ("30", not the column's "30.000000000").
        return credits(value) if isinstance(value, Decimal) else csv_cell(value)

    @admin.display(description="Transfer", ordering="id")
    def id_column(self, obj):
        return short_id(obj.pk, change_url(obj))

    @admin.display(description="When (UTC)", ordering="created_at")
    def created_column(self, obj):
        return moment(obj.created_at)

    @admin.display(description="From wallet", ordering="from_wallet")
    def from_column(self, obj):
        return self._wallet(obj.from_wallet)

    @admin.display(description="To wallet", ordering="to_wallet")
    def to_column(self, obj):
        return self._wallet(obj.to_wallet)

    @staticmethod
    def _wallet(wallet):
        return format_html(
            '{}<br><span class="bo-quiet">{}</span>',
            short_id(wallet.pk, change_url(wallet)),
            truncated(f"{wallet.name or wallet.wallet_type} ({wallet.currency.upper()})"),
        )

    @admin.display(description="Credits", ordering="credits")
    def credits_column(self, obj):
        return amount(credits(obj.credits), "credits")

    @admin.display(description="By", ordering="created_by")
    def created_by_column(self, obj):
        return truncated(obj.created_by or "—")

    @admin.display(description="Customer")
    def customer_column(self, obj):
        customer = obj.customer
        return format_html("{} ({})", truncated(customer.name or customer.external_id, change_url(customer)), customer.pk)

    @admin.display(description="Idempotency key")
    def idempotency_key_column(self, obj):
        return obj.debit.idempotency_key or "—"

    @admin.display(description="Description")
    def description_column(self, obj):
        return obj.debit.description or "—"

    @admin.display(description="Debit and credits")
    def rows_column(self, obj):
        """The debit on the source wallet, then its credits on the destination, each linked to its page."""
        view = self._view(obj)
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td class="numeric">{}{}</td><td class="numeric">{}</td></tr>',
            (
                (
                    _row_link(row.pk),
                    short_id(row.wallet_id, change_url(wallet)),
                    row.transaction_reason.replace("_", " ").capitalize(),
                    "−" if row.type == WalletTransaction.Type.DEBIT else "+",
                    credits(row.credit_amount),
                    credits(row.credit_balance_after),
                )
                for row, wallet in [(view.debit, obj.from_wallet), *((credit, obj.to_wallet) for credit in view.credits)]
            ),
        )
        return format_html(
            '<table class="wallet-transfer-rows"><thead><tr><th>Transaction</th><th>Wallet</th><th>What</th>'
            '<th class="numeric">Credits</th><th class="numeric">Balance after</th></tr></thead><tbody>{}</tbody></table>',
            rows,
        )

    @admin.display(description="Lots")
    def lots_column(self, obj):
        """Each lot the debit took on the source and the credit that carries it on the destination,
        with the lot's expiry and priority (a transfer keeps both)."""
        view = self._view(obj)
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td class="numeric">{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    _row_link(credit.metadata[SOURCE_LOT_KEY]),
                    _row_link(credit.pk),
                    credits(credit.credit_amount),
                    moment(credit.expiry_date) if credit.expiry_date else "Never",
                    credit.priority if credit.priority is not None else "—",
                )
                for credit in view.credits
            ),
        )
        return format_html(
            '<table class="wallet-transfer-lots"><thead><tr><th>Lot taken (source)</th><th>Lot written (destination)</th>'
            '<th class="numeric">Credits</th><th>Expires (UTC)</th><th>Priority</th></tr></thead><tbody>{}</tbody></table>',
            rows,
        )

    @staticmethod
    def _view(obj: WalletTransfer) -> wallet_selectors.TransferView:
        # Both tables read the same rows: one query for the page, kept on the object it was read for.
        if not hasattr(obj, "_transfer_view"):
            obj._transfer_view = wallet_selectors.transfer_view(obj)
        return obj._transfer_view
