"""Support back-office for wallets and their ledger (Django admin).

- Wallets: list with search and filters; a read-only detail page with the open credit lots, the
  ledger (paginated, newest first), a chart of the credit balance and the freeze history; the
  support actions top up, manual debit, freeze, unfreeze and terminate (wallets.admin.actions),
  each behind its own permission (Wallet.Meta.permissions); and "Check ledger integrity", which
  only reads: wallets.ledger.integrity audits the selected wallets and reports drift per wallet.
- Wallet transactions: read-only for everyone, filterable, searchable, and exportable as CSV:
  exactly the rows the filtered list shows; a credit lot's page offers "Void remaining credits"
  and, for a paid purchase, "Refund remaining credits" (wallets.admin.voids) to who may run them;
  a transfer's row links the transfer's page (wallets.admin.transfers).

Nothing here writes a balance or a status; the actions call wallets.services.
"""

import logging
from collections import defaultdict

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyModelAdmin, may_view
from core.admin_cells import amount, moment, short_id, truncated
from core.db.replica import pinned, replica_reads
from invoices.models import Invoice
from wallets import selectors as wallet_selectors
from wallets.admin import actions, selectors, voids
from wallets.admin.actions import ACTIONS, DEBIT, FREEZE, RELEASE_HOLDS, TERMINATE, TOP_UP, TRANSFER, UNFREEZE
from wallets.admin.display import (
    badge,
    balance_chart_svg,
    change_url,
    changelist_url,
    credits,
    credits_display,
    link,
)
from wallets.admin.export import transactions_csv_response
from wallets.ledger import integrity
from wallets.models import AlertLog, Wallet, WalletStatusChange, WalletTransaction

logger = logging.getLogger(__name__)
SUPPORT_CSS = "wallets/admin.css"
# The balance chart plots at most this many of the latest ledger rows.
CHART_POINTS = 200
EXPORT_PERMISSION = "wallets.export_transactions"


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", "Open (active or frozen)"), *Wallet.Status.choices]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(wallet_status__in=selectors.OPEN_STATUSES)
        if self.value() in Wallet.Status.values:
            return queryset.filter(wallet_status=self.value())
        return queryset


class CurrencyFilter(admin.SimpleListFilter):
    """Currency of wallets or of ledger rows (a subclass names another ``field``); the choices come
    from the (small) wallet table."""

    title = "currency"
    parameter_name = "currency"
    field = "currency"

    def lookups(self, request, model_admin):
        return [(currency, currency.upper()) for currency in selectors.wallet_currencies()]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class ExpiringFilter(admin.SimpleListFilter):
    title = "credits expiring"
    parameter_name = "expiring"

    def lookups(self, request, model_admin):
        return [("7d", f"Within {selectors.EXPIRING_WINDOW.days} days")]

    def queryset(self, request, queryset):
        if self.value() == "7d":
            return selectors.wallets_with_credits_expiring(queryset, now=timezone.now())
        return queryset


@admin.register(Wallet)
class WalletAdmin(ReadOnlyModelAdmin):
    list_display = [
        "wallet_column",
        "customer_column",
        "wallet_type",
        "state_column",
        "balances_column",
        "updated_column",
    ]
    list_filter = [StatusFilter, "wallet_type", CurrencyFilter, "alert_state", ExpiringFilter, "environment"]
    search_fields = ["=id", "=customer__external_id", "customer__name", "customer__email"]
    search_help_text = "Wallet id, customer external id (exact), or part of the customer's name or email."
    list_select_related = ["customer"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    actions = ["top_up", "debit", "freeze", "unfreeze", "terminate", "transfer", "release_holds", "check_ledger_integrity"]

    class Media:
        css = {"all": [SUPPORT_CSS]}

    fieldsets = [
        ("Wallet", {"fields": ["id", "customer", "environment", "name", "description", "wallet_type", "currency"]}),
        (
            "Balance",
            {
                "fields": [
                    "credit_balance_column",
                    "balance_column",
                    "conversion_rate_column",
                    "topup_conversion_rate_column",
                    "transaction_count",
                ],
                "description": "Balances change only through the actions above, which write the ledger.",
            },
        ),
        ("Status", {"fields": ["status_column", "frozen_until", "alert_column", "alert_settings"]}),
        (
            "Auto top-up",
            {
                "fields": [
                    "auto_topup_enabled",
                    "auto_topup_threshold_column",
                    "auto_topup_amount_column",
                    "auto_topup_invoicing",
                    "auto_topup_cooldown_value",
                    "auto_topup_cooldown_unit",
                ]
            },
        ),
        (
            "Record",
            {"classes": ["collapse"], "fields": ["created_at", "created_by", "updated_at", "updated_by", "metadata", "config"]},
        ),
    ]

    credit_balance_column = credits_display("credit_balance", "Credit balance")
    balance_column = credits_display("balance", "Balance")
    conversion_rate_column = credits_display("conversion_rate", "Conversion rate")
    topup_conversion_rate_column = credits_display("topup_conversion_rate", "Top-up conversion rate")
    auto_topup_threshold_column = credits_display("auto_topup_threshold", "Auto top-up threshold")
    auto_topup_amount_column = credits_display("auto_topup_amount", "Auto top-up amount")

    @admin.display(description="Wallet", ordering="id")
    def wallet_column(self, obj):
        return format_html("{}<br>{}", truncated(obj.name or obj.pk), short_id(obj.pk))

    @admin.display(description="Customer", ordering="customer__name")
    def customer_column(self, obj):
        customer = obj.customer
        return format_html(
            '{}<br><span class="bo-quiet">{}</span>',
            truncated(customer.name or customer.external_id, change_url(customer)),
            truncated(f"{customer.external_id} · {customer.email or 'no email'}"),
        )

    @admin.display(description="Credit balance", ordering="credit_balance")
    def balances_column(self, obj):
        """The credits, and under them what they are worth in the wallet's currency."""
        return format_html(
            '{}<br><span class="bo-quiet">{}</span>',
            amount(credits(obj.credit_balance), "credits"),
            amount(credits(obj.balance), obj.currency.upper()),
        )

    @admin.display(description="Status and alert", ordering="wallet_status")
    def state_column(self, obj):
        return format_html("{} {}", self.status_column(obj), self.alert_column(obj))

    @admin.display(description="Updated (UTC)", ordering="updated_at")
    def updated_column(self, obj):
        return moment(obj.updated_at)

    @admin.display(description="Status", ordering="wallet_status")
    def status_column(self, obj):
        return badge(obj.wallet_status, obj.get_wallet_status_display())

    @admin.display(description="Alert state", ordering="alert_state")
    def alert_column(self, obj):
        return badge(obj.alert_state, obj.get_alert_state_display())

    # Support actions: each is a one-liner into the shared three-step flow.
    @admin.action(description="Top up selected wallets…", permissions=["top_up"])
    def top_up(self, request, queryset):
        return actions.run(self, request, queryset, TOP_UP)

    @admin.action(description="Debit selected wallets manually…", permissions=["debit"])
    def debit(self, request, queryset):
        return actions.run(self, request, queryset, DEBIT)

    @admin.action(description="Freeze selected wallets…", permissions=["freeze"])
    def freeze(self, request, queryset):
        return actions.run(self, request, queryset, FREEZE)

    @admin.action(description="Unfreeze selected wallets…", permissions=["unfreeze"])
    def unfreeze(self, request, queryset):
        return actions.run(self, request, queryset, UNFREEZE)

    @admin.action(description="Terminate selected wallets…", permissions=["terminate"])
    def terminate(self, request, queryset):
        return actions.run(self, request, queryset, TERMINATE)

    @admin.action(description="Transfer credits from the selected wallet…", permissions=["transfer"])
    def transfer(self, request, queryset):
        return actions.run(self, request, queryset, TRANSFER)

    @admin.action(description="Release the open holds of selected wallets…", permissions=["release_holds"])
    def release_holds(self, request, queryset):
        return actions.run(self, request, queryset, RELEASE_HOLDS)

    @admin.action(description="Check ledger integrity", permissions=["view"])
    def check_ledger_integrity(self, request, queryset):
        drift = defaultdict(list)
        for problem in integrity.check_wallets(queryset):
            drift[problem.wallet_id].append(f"[{problem.invariant}] {problem.detail}")
        for wallet_id, details in drift.items():
            self.message_user(request, f"{wallet_id} drifted: {'; '.join(details)}", messages.ERROR)
        summary = f"Checked the ledger of {queryset.count()} wallet(s): {len(drift)} drifted."
        self.message_user(request, summary, messages.ERROR if drift else messages.SUCCESS)

    def has_top_up_permission(self, request):
        return request.user.has_perm(TOP_UP.permission)

    def has_debit_permission(self, request):
        return request.user.has_perm(DEBIT.permission)

    def has_freeze_permission(self, request):
        return request.user.has_perm(FREEZE.permission)

    def has_unfreeze_permission(self, request):
        return request.user.has_perm(UNFREEZE.permission)

    def has_terminate_permission(self, request):
        return request.user.has_perm(TERMINATE.permission)

    def has_transfer_permission(self, request):
        return request.user.has_perm(TRANSFER.permission)

    def has_release_holds_permission(self, request):
        return request.user.has_perm(RELEASE_HOLDS.permission)

    def changelist_view(self, request, extra_context=None):
        # Django answers an action the user may not run with "No action selected"; say no plainly.
        if request.method == "POST":
            permitted = self.get_actions(request)
            if any(name and name not in permitted for name in request.POST.getlist("action")):
                raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        wallet = self.get_object(request, unquote(object_id))
        if wallet is not None and self.has_view_permission(request, wallet):
            extra_context = {**(extra_context or {}), **self._wallet_page_context(request, wallet)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _wallet_page_context(self, request, wallet: Wallet) -> dict:
        permitted = self.get_actions(request)
        context = {
            # Buttons for the actions this user may run and the wallet's status allows.
            "wallet_actions": [a for a in ACTIONS if a.name in permitted and a.offered_for(wallet)],
            "wallet_changelist_url": changelist_url(Wallet),
            "hidden_sections": [],
        }
        # Each section shows rows of its own model, so it needs that model's view permission, as an
        # inline would; a section left out runs no query (the customer page follows the same rule).
        if may_view(request.user, WalletTransaction):
            lots, lots_total = selectors.wallet_open_lots(wallet=wallet, now=timezone.now())
            context |= {
                "lots": lots,
                "lots_total": lots_total,
                "ledger": selectors.wallet_ledger_page(wallet=wallet, page_number=request.GET.get("ledger_page")),
                "chart": balance_chart_svg(selectors.wallet_balance_history(wallet=wallet, limit=CHART_POINTS)),
                "chart_points": CHART_POINTS,
                "transactions_url": changelist_url(WalletTransaction, wallet__id__exact=wallet.pk),
                "open_holds": selectors.wallet_open_holds(wallet=wallet),
            }
        else:
            context["hidden_sections"].append("the balance chart, credit lots and ledger")
        if may_view(request.user, WalletStatusChange):
            context["status_history"] = selectors.wallet_status_history(wallet=wallet)
        else:
            context["status_history"] = None  # the template tells None (hidden) from [] (never frozen)
            context["hidden_sections"].append("the freeze and termination history")
        return context


# Allocations listed on a ledger row's page: a debit touches a few lots, but a lot may pay for
# thousands of debits, and the page must stay cheap.
CONSUMPTION_ROWS = 50


@admin.register(WalletTransaction)
class WalletTransactionAdmin(ReadOnlyModelAdmin):
    list_display = [
        "id_column",
        "created_column",
        "wallet_column",
        "what_column",
        "credit_amount_column",
        "credit_balance_after_column",
        "expiry_column",
    ]
    list_display_links = ["id_column"]
    list_filter = [
        "type",
        "transaction_reason",
        "transaction_status",
        ("created_at", admin.DateFieldListFilter),
        CurrencyFilter,
    ]
    search_fields = ["=id", "=idempotency_key", "=reference_id"]
    search_help_text = "Transaction id, idempotency key or reference id (exact)."
    list_select_related = ["wallet"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    # Per-filter counts would each scan the ledger, which grows without bound.
    show_facets = admin.ShowFacets.NEVER

    class Media:
        css = {"all": [SUPPORT_CSS]}

    fieldsets = [
        (
            "Transaction",
            {
                "fields": [
                    "id",
                    "wallet",
                    "customer",
                    "sequence",
                    "type",
                    "transaction_reason",
                    "transaction_status",
                    "created_at",
                    "created_by",
                ]
            },
        ),
        (
            "Credits",
            {
                "fields": [
                    "credit_amount_column",
                    "amount_column",
                    "credit_balance_before_column",
                    "credit_balance_after_column",
                    "credits_available_column",
                    "expiry_date",
                    "priority",
                    "currency",
                    "conversion_rate_column",
                    "topup_conversion_rate_column",
                    "consumption_column",
                ]
            },
        ),
        (
            "Reference",
            {
                "fields": [
                    "description",
                    "metadata",
                    "reference_type",
                    "reference_id",
                    "idempotency_key",
                    "invoice_column",
                    "transfer_column",
                    "parent_transaction",
                    "request_fingerprint",
                ]
            },
        ),
        ("Record", {"fields": ["tenant", "environment", "updated_at", "updated_by"]}),
    ]

    credit_amount_column = credits_display("credit_amount", "Credits")
    amount_column = credits_display("amount", "Amount")
    credit_balance_before_column = credits_display("credit_balance_before", "Credit balance before")
    credit_balance_after_column = credits_display("credit_balance_after", "Credit balance after")
    credits_available_column = credits_display("credits_available", "Credits still available")
    conversion_rate_column = credits_display("conversion_rate", "Conversion rate")
    topup_conversion_rate_column = credits_display("topup_conversion_rate", "Top-up conversion rate")

    @admin.display(description="Transaction", ordering="id")
    def id_column(self, obj):
        return short_id(obj.pk)

    @admin.display(description="When (UTC)", ordering="created_at")
    def created_column(self, obj):
        return moment(obj.created_at)

    @admin.display(description="Expires", ordering="expiry_date")
    def expiry_column(self, obj):
        return moment(obj.expiry_date, time=False)

    @admin.display(description="Wallet", ordering="wallet")
    def wallet_column(self, obj):
        return short_id(obj.wallet_id, change_url(obj.wallet))

    @admin.display(description="What, by whom", ordering="transaction_reason")
    def what_column(self, obj):
        """Type, reason and status in words ("Credit: free credit grant (pending)"), and who wrote it."""
        text = f"{obj.get_type_display()}: {obj.transaction_reason.replace('_', ' ').lower()}"
        if obj.transaction_status != WalletTransaction.Status.COMPLETED:
            text += f" ({obj.get_transaction_status_display().lower()})"
        return format_html('{}<br><span class="bo-quiet">{}</span>', truncated(text), truncated(obj.created_by or "—"))

    @admin.display(description="Invoice")
    def invoice_column(self, obj):
        """A purchased credit's invoice: paying it completes a pending credit, voiding it fails it."""
        invoice = Invoice.objects.filter(wallet_transaction=obj).first()
        if invoice is None:
            return "—"
        return link(invoice, f"{invoice.invoice_number} ({invoice.invoice_status}, payment {invoice.payment_status})")

    @admin.display(description="Consumption")
    def consumption_column(self, obj):
        """A debit's lots (which credits paid for it, in consumption order, then any overdraft
        repayments); a credit lot's debits (what consumed it). From the allocation table."""
        allocations = wallet_selectors.transaction_allocations(obj, limit=CONSUMPTION_ROWS + 1)
        if not allocations:
            return "—"
        debit = obj.type == WalletTransaction.Type.DEBIT
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td>{}</td><td class="numeric">{}</td><td>{}</td></tr>',
            (
                (
                    link(other, other.pk),
                    other.transaction_reason.replace("_", " ").lower(),
                    moment(other.expiry_date if debit else other.created_at),
                    credits(allocation.credits),
                    "overdraft repayment" if debit and other.sequence > obj.sequence else "",
                )
                for allocation in allocations[:CONSUMPTION_ROWS]
                for other in [allocation.credit if debit else allocation.debit]
            ),
        )
        more = ""
        if len(allocations) > CONSUMPTION_ROWS:
            more = format_html("<p>The first {} are shown.</p>", CONSUMPTION_ROWS)
        return format_html(
            '<table class="wallet-consumption"><thead><tr><th>{}</th><th>Reason</th><th>{}</th><th>Credits</th>'
            "<th></th></tr></thead><tbody>{}</tbody></table>{}",
            "Lot" if debit else "Debit",
            "Expires" if debit else "When (UTC)",
            rows,
            more,
        )

    @admin.display(description="Transfer")
    def transfer_column(self, obj):
        """A transfer's rows link to each other: its debit on one wallet, its credits (one per lot) on the other."""
        view = wallet_selectors.transaction_transfer(obj)
        if view is None:
            return "—"
        rows = format_html_join(
            "",
            "<li>{}: {} {} credits on {}</li>",
            (
                (link(row, row.pk), row.transaction_reason, credits(row.credit_amount), link(row.wallet, row.wallet_id))
                for row in [view.debit, *view.credits]
            ),
        )
        return format_html(
            "{} credits from {} to {} ({})<ul>{}</ul>",
            credits(view.transfer.credits),
            link(view.from_wallet, view.transfer.from_wallet_id),
            link(view.to_wallet, view.transfer.to_wallet_id),
            link(view.transfer, view.transfer.pk),
            rows,
        )

    def get_urls(self):
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_export",
        )
        return [export, *voids.urls(self), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        lot = self.get_object(request, unquote(object_id))
        if lot is not None and self.has_view_permission(request, lot):
            extra_context = {**(extra_context or {}), "lot_actions": voids.lot_actions(request, lot)}
        return super().change_view(request, object_id, form_url, extra_context)

    @replica_reads
    def export_view(self, request):
        """The changelist's rows, with its filters, search and ordering, as a streamed CSV file."""
        if not (self.has_view_permission(request) and request.user.has_perm(EXPORT_PERMISSION)):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("This export link holds an unknown filter; filter the list again.")
        logger.info("user %s exported wallet transactions filtered by %s", request.user.get_username(), request.GET.urlencode())
        filename = f"wallet-transactions-{timezone.now():%Y%m%dT%H%M%SZ}.csv"
        return transactions_csv_response(pinned(changelist.get_queryset(request)), filename=filename)


@admin.register(AlertLog)
class AlertLogAdmin(ReadOnlyModelAdmin):
    """Each change of a wallet's alert state, as the workers and the ledger recorded it."""

    list_display = ["created_at", "wallet_column", "previous_state", "state", "credit_balance_column", "transaction"]
    list_filter = ["state", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=wallet__id", "wallet__customer__external_id"]
    list_select_related = ["wallet"]
    ordering = ["-created_at", "-id"]
    show_facets = admin.ShowFacets.NEVER

    credit_balance_column = credits_display("credit_balance", "Credit balance")

    @admin.display(description="Wallet", ordering="wallet")
    def wallet_column(self, obj):
        return link(obj.wallet, obj.wallet_id)
