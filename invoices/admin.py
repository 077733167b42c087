"""Support back-office for invoices: list, detail, a printable page, and two actions.

"Mark paid" records an offline payment (the credit completes, exactly once) and "Void" fails the
pending credit. Both show a confirmation page listing what will happen to each invoice, then
call invoices.services once per invoice and report each outcome. An invoice's page lists its
credit notes: the refunds of its credits (started from the credit lot's page, wallets.admin.voids).
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from backoffice import activity
from core import admin_cells
from core.admin import ReadOnlyModelAdmin, ReadOnlyTabularInline
from core.admin_cells import moment, short_id, truncated
from core.exceptions import ServiceError
from invoices import services
from invoices.models import CreditNote, Invoice, InvoiceLineItem, Payment
from wallets.admin.actions import admin_actor
from wallets.admin.display import change_url, credits, credits_display, link

# The admin action's name -> its kind in the staff activity log.
INVOICE_ACTION_KINDS = {"mark_paid": activity.Kind.INVOICE_PAID, "void": activity.Kind.INVOICE_VOIDED}


def _money(field_name: str, description: str):
    """A display method: the amount in wire form with the row's currency ("250 USD"), right-aligned."""

    def display(model_admin, obj):
        return admin_cells.amount(credits(getattr(obj, field_name)), obj.currency.upper())

    return admin.display(description=description, ordering=field_name)(display)


class LineItemInline(ReadOnlyTabularInline):
    model = InvoiceLineItem
    fields = ["display_name", "quantity_column", "unit_amount_column", "amount_column"]
    readonly_fields = fields

    quantity_column = credits_display("quantity", "Quantity")
    unit_amount_column = _money("unit_amount", "Unit price")
    amount_column = _money("amount", "Amount")


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ["id", "amount_column", "payment_method_type", "payment_status", "succeeded_at", "created_by"]
    readonly_fields = fields

    amount_column = _money("amount", "Amount")


class CreditNoteInline(ReadOnlyTabularInline):
    model = CreditNote
    fields = ["id", "credits_column", "amount_column", "reason", "refund_link", "created_at", "created_by"]
    readonly_fields = fields

    credits_column = credits_display("credits", "Credits")
    amount_column = _money("amount", "Amount owed back")

    @admin.display(description="Refund")
    def refund_link(self, obj):
        return link(obj.wallet_transaction, obj.wallet_transaction_id)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyModelAdmin):
    list_display = [
        "number_column",
        "customer_column",
        "wallet_column",
        "amount_column",
        "status_column",
        "billing_reason",
        "created_column",
    ]
    list_filter = ["invoice_status", "payment_status", "billing_reason", "currency"]
    search_fields = ["id", "invoice_number", "customer__external_id", "customer__email", "wallet__id", "idempotency_key"]
    list_select_related = ["customer", "wallet"]
    date_hierarchy = "created_at"
    fields = [
        "id",
        "invoice_number",
        "customer",
        "wallet_link",
        "transaction_link",
        "invoice_status",
        "payment_status",
        "billing_reason",
        "amount_due_column",
        "amount_paid_column",
        "description",
        "metadata",
        "idempotency_key",
        "issue_date",
        "finalized_at",
        "paid_at",
        "voided_at",
        "created_by",
        "printable",
    ]
    inlines = [LineItemInline, PaymentInline, CreditNoteInline]
    actions = ["mark_paid", "void"]

    @admin.display(description="Wallet")
    def wallet_link(self, obj):
        return link(obj.wallet, obj.wallet_id)

    @admin.display(description="Invoice number", ordering="invoice_number")
    def number_column(self, obj):
        return truncated(obj.invoice_number)

    @admin.display(description="Status", ordering="invoice_status")
    def status_column(self, obj):
        return f"{obj.get_invoice_status_display()}, payment {obj.get_payment_status_display().lower()}"

    @admin.display(description="Created (UTC)", ordering="created_at")
    def created_column(self, obj):
        return moment(obj.created_at)

    @admin.display(description="Customer", ordering="customer__name")
    def customer_column(self, obj):
        return truncated(obj.customer.name or obj.customer.external_id, change_url(obj.customer))

    @admin.display(description="Wallet", ordering="wallet")
    def wallet_column(self, obj):
        return short_id(obj.wallet_id, change_url(obj.wallet))

    amount_column = _money("amount_due", "Amount")
    amount_due_column = _money("amount_due", "Amount due")
    amount_paid_column = _money("amount_paid", "Amount paid")

    @admin.display(description="Credit")
    def transaction_link(self, obj):
        return link(obj.wallet_transaction, f"{obj.wallet_transaction_id} ({obj.wallet_transaction.transaction_status})")

    @admin.display(description="Amount")
    def amount(self, obj):
        return f"{credits(obj.amount_due)} {obj.currency.upper()}"

    @admin.display(description="Printable")
    def printable(self, obj):
        url = reverse("admin:invoices_invoice_print", args=[obj.pk])
        return format_html('<a href="{}" target="_blank">Open the printable invoice</a>', url)

    def get_urls(self):
        return [
            path("<path:object_id>/print/", self.admin_site.admin_view(self.print_view), name="invoices_invoice_print"),
            *super().get_urls(),
        ]

    def print_view(self, request, object_id):
        invoice = self.get_object(request, unquote(object_id))
        if invoice is None or not self.has_view_permission(request, invoice):
            raise PermissionDenied
        lines = [
            {
                "name": line.display_name,
                "quantity": credits(line.quantity),
                "unit": credits(line.unit_amount),
                "amount": credits(line.amount),
            }
            for line in invoice.line_items.all()
        ]
        totals = {"due": credits(invoice.amount_due), "paid": credits(invoice.amount_paid)}
        return TemplateResponse(
            request, "admin/invoices/invoice/print.html", {"invoice": invoice, "lines": lines, "totals": totals}
        )

    def has_settle_permission(self, request):
        return request.user.has_perm("invoices.settle_invoice")

    @admin.action(description="Mark selected invoices paid (offline payment)", permissions=["settle"])
    def mark_paid(self, request, queryset):
        return self._confirm_and_run(
            request,
            queryset,
            action="mark_paid",
            verb="marked paid",
            explain="An offline payment of the full amount is recorded and the purchased credits are added to the wallet.",
            run=lambda invoice: services.invoice_pay(invoice, actor=admin_actor(request)),
        )

    @admin.action(description="Void selected invoices (the credits are never added)", permissions=["settle"])
    def void(self, request, queryset):
        return self._confirm_and_run(
            request,
            queryset,
            action="void",
            verb="voided",
            explain="The invoice is voided and its pending credits fail: the wallet never receives them.",
            run=lambda invoice: services.invoice_void(invoice, actor=admin_actor(request)),
        )

    def _confirm_and_run(self, request, queryset, *, action, verb, explain, run):
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/invoices/invoice/confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "title": f"Confirm: {verb}",
                    "opts": self.opts,
                    "invoices": [
                        {"invoice": invoice, "amount": self.amount(invoice)} for invoice in queryset.select_related("customer")
                    ],
                    "action": action,
                    "explain": explain,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        done, refused = 0, []
        kind = INVOICE_ACTION_KINDS[action]
        for invoice in queryset:
            try:
                # The payment or void and its staff activity log row commit together; a refusal is logged too.
                with activity.logged(staff=request.user.get_username(), kind=kind, target=invoice) as entry:
                    run(invoice)
                    entry.result = f"Invoice {invoice.invoice_number} {verb}"
            except ServiceError as exc:
                refused.append(f"{invoice.invoice_number}: {exc.message}")
            else:
                # Also Django's LogEntry, for the invoice's History page and "Recent actions" (the activity log is the audit).
                self.log_change(request, invoice, f"Invoice {verb}")
                done += 1
        summary = f"{done} {verb}" + (f", {len(refused)} refused: " + "; ".join(refused) if refused else "")
        self.message_user(request, summary, messages.WARNING if refused else messages.SUCCESS)
        return None
