"""Support back-office for invoices: list, detail, a printable page, and two actions.

"Mark paid" records an offline payment (the credit completes, exactly once) and "Void" fails the
pending credit. Both show a confirmation page listing what will happen to each invoice, then
call invoices.services once per invoice and report each outcome.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyModelAdmin, ReadOnlyTabularInline
from core.exceptions import ServiceError
from invoices import services
from invoices.models import Invoice, InvoiceLineItem, Payment
from wallets.admin.actions import admin_actor
from wallets.admin.display import credits, link


class LineItemInline(ReadOnlyTabularInline):
    model = InvoiceLineItem
    fields = ["display_name", "quantity", "unit_amount", "amount", "currency"]
    readonly_fields = fields


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    fields = ["id", "amount", "currency", "payment_method_type", "payment_status", "succeeded_at", "created_by"]
    readonly_fields = fields


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyModelAdmin):
    list_display = [
        "invoice_number", "customer", "wallet_link", "amount", "invoice_status", "payment_status", "billing_reason", "created_at"
    ]
    list_filter = ["invoice_status", "payment_status", "billing_reason", "currency"]
    search_fields = ["id", "invoice_number", "customer__external_id", "customer__email", "wallet__id", "idempotency_key"]
    list_select_related = ["customer", "wallet"]
    date_hierarchy = "created_at"
    fields = [
        "id", "invoice_number", "customer", "wallet_link", "transaction_link", "invoice_status", "payment_status",
        "billing_reason", "currency", "amount_due", "amount_paid", "description", "metadata", "idempotency_key",
        "issue_date", "finalized_at", "paid_at", "voided_at", "created_by", "printable",
    ]
    inlines = [LineItemInline, PaymentInline]
    actions = ["mark_paid", "void"]

    @admin.display(description="Wallet")
    def wallet_link(self, obj):
        return link(obj.wallet, obj.wallet_id)

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
            request, queryset, action="mark_paid", verb="marked paid",
            explain="An offline payment of the full amount is recorded and the purchased credits are added to the wallet.",
            run=lambda invoice: services.invoice_pay(invoice, actor=admin_actor(request)),
        )

    @admin.action(description="Void selected invoices (the credits are never added)", permissions=["settle"])
    def void(self, request, queryset):
        return self._confirm_and_run(
            request, queryset, action="void", verb="voided",
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
        for invoice in queryset:
            try:
                run(invoice)
            except ServiceError as exc:
                refused.append(f"{invoice.invoice_number}: {exc.message}")
            else:
                self.log_change(request, invoice, f"Invoice {verb}")
                done += 1
        summary = f"{done} {verb}" + (f", {len(refused)} refused: " + "; ".join(refused) if refused else "")
        self.message_user(request, summary, messages.WARNING if refused else messages.SUCCESS)
        return None
