"""The four-eyes approval requests in the admin: the audit list and each request's page with its decision.

The list (pending requests first) filters by status, operation, requester, decider and date and
exports as CSV. A request's page shows everything about it; staff who may decide it (the approve
permission, and not the requester) get Approve and Refuse, the requester of a pending request
gets Cancel. The buttons post to ``<id>/decide/``, which calls backoffice.approvals: the service
decides again, so a crafted post by the requester is refused there (and logged), not just hidden.
"""

import json
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from backoffice import approvals
from backoffice.models import ApprovalRequest
from core.admin import CsvExportMixin, ReadOnlyModelAdmin, csv_cell
from core.admin_cells import moment, short_id, truncated
from core.exceptions import ServiceError
from wallets.admin.display import badge, credits

Status = ApprovalRequest.Status
DECISIONS = {"approve": approvals.approve, "refuse": approvals.refuse, "cancel": approvals.cancel}


def _page(name: str, pk) -> str:
    return reverse(f"admin:{name}", args=[quote(pk)])


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    list_display = [
        "requested_column",
        "id_column",
        "what_column",
        "wallet_column",
        "status_column",
        "who_column",
        "note_column",
    ]
    list_filter = [
        "status",
        "operation",
        ("requested_by", admin.RelatedOnlyFieldListFilter),
        ("decided_by", admin.RelatedOnlyFieldListFilter),
        ("requested_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["requested_by", "decided_by"]
    search_fields = ["=id", "=wallet__id", "note"]
    search_help_text = "Request id or wallet id (exact), or part of the requester's reason."
    date_hierarchy = "requested_at"
    show_full_result_count = False
    fieldsets = [
        (
            "Request",
            {
                "fields": [
                    "id",
                    "status_column",
                    "operation",
                    "credits_column",
                    "wallet_column",
                    "tenant",
                    "environment",
                    "arguments_column",
                    "note",
                    "requested_by",
                    "requested_at",
                ]
            },
        ),
        ("Decision", {"fields": ["decided_by", "decided_at", "decision_note", "transaction_column", "error"]}),
    ]
    export_columns = [
        "id",
        "requested_at",
        "tenant_id",
        "environment_id",
        "wallet_id",
        "operation",
        "credits",
        "arguments",
        "note",
        "requested_by__username",
        "status",
        "decided_by__username",
        "decided_at",
        "decision_note",
        "transaction_id",
        "error",
    ]
    export_filename = "approval-requests"
    change_form_template = "admin/backoffice/approvalrequest/change_form.html"

    class Media:
        css = {"all": ["wallets/admin.css"]}  # the status badges

    def export_cell(self, value) -> str:
        # Credits in the API's wire form ("5000", not the column's "5000.000000000").
        return credits(value) if isinstance(value, Decimal) else csv_cell(value)

    def get_ordering(self, request):
        # What needs attention first: the pending requests, then the rest, newest first in each.
        pending_first = Case(When(status=Status.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField())
        return [pending_first.asc(), "-requested_at", "-id"]

    @admin.display(description="Requested (UTC)", ordering="requested_at")
    def requested_column(self, obj):
        return moment(obj.requested_at)

    @admin.display(description="ID", ordering="id")
    def id_column(self, obj):
        return short_id(obj.pk, _page("backoffice_approvalrequest_change", obj.pk))

    @admin.display(description="Credits", ordering="credits")
    def credits_column(self, obj):
        return credits(obj.credits)

    @admin.display(description="Operation, credits", ordering="credits")
    def what_column(self, obj):
        return f"{obj.get_operation_display()} of {credits(obj.credits)}"

    @admin.display(description="Wallet", ordering="wallet_id")
    def wallet_column(self, obj):
        return short_id(obj.wallet_id, _page("wallets_wallet_change", obj.wallet_id))

    @admin.display(description="Status", ordering="status")
    def status_column(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="Asked → decided by")
    def who_column(self, obj):
        # One column for both people keeps the list within 1280 px; the page shows when each acted.
        decider = obj.decided_by.get_username() if obj.decided_by_id else "…"
        return f"{obj.requested_by.get_username()} → {decider}"

    @admin.display(description="Reason given")
    def note_column(self, obj):
        return truncated(obj.note)

    @admin.display(description="Service call's arguments")
    def arguments_column(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.arguments, indent=2, sort_keys=True))

    @admin.display(description="Ledger transaction")
    def transaction_column(self, obj):
        if not obj.transaction_id:
            return "—"
        return short_id(obj.transaction_id, _page("wallets_wallettransaction_change", obj.transaction_id))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        approval = self.get_object(request, unquote(object_id))  # the admin's URLs quote ids ("_" is "_5F")
        extra_context = dict(extra_context or {})
        if approval is not None:
            extra_context.update(
                may_decide=approvals.may_decide(approval, request.user),
                may_cancel=approvals.may_cancel(approval, request.user),
                decide_url=_page("backoffice_approvalrequest_decide", approval.pk),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        decide = path(
            "<path:object_id>/decide/",
            self.admin_site.admin_view(self.decide_view),
            name="backoffice_approvalrequest_decide",
        )
        return [decide, *super().get_urls()]

    def decide_view(self, request, object_id):
        """Approve, refuse or cancel (the ``decision`` field), with the note; then back to the request's page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        object_id = unquote(object_id)
        decide = DECISIONS.get(request.POST.get("decision", ""))
        page = HttpResponseRedirect(_page("backoffice_approvalrequest_change", object_id))
        if decide is None:
            messages.error(request, "Choose Approve, Refuse or Cancel; nothing was done.")
            return page
        try:
            approval = decide(object_id, user=request.user, note=request.POST.get("decision_note", ""))
        except ServiceError as exc:
            messages.error(request, f"Nothing was done: {exc.message}.")
            return page
        if approval.status == Status.FAILED:
            messages.warning(
                request, f"Failed {approval.pk}: the wallet service refused it ({approval.error}); nothing was posted."
            )
        elif approval.status == Status.APPROVED:
            messages.success(
                request, f"Approved {approval.pk}: {approvals.describe(approval)}, transaction {approval.transaction_id}."
            )
        else:
            messages.success(request, f"{approval.get_status_display()}: {approval.pk}; nothing will be posted.")
        return page
