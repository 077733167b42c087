"""The staff activity log in the admin: read-only, filterable by staff member, action and date, exportable as CSV.

Also the admin site's own settings that serve the whole back-office (header, no navigation sidebar:
the pages need its width to fit 1280 px; the index and breadcrumbs lead everywhere).
"""

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse

from backoffice import approvals_admin  # noqa: F401  (registers the approval requests' pages)
from backoffice.models import StaffAction
from core.admin import CsvExportMixin, ReadOnlyModelAdmin
from core.admin_cells import moment, short_id, truncated

admin.site.site_header = "Wallet back-office"
admin.site.site_title = "Wallet back-office"
admin.site.enable_nav_sidebar = False

# Admin pages of the objects the log names, by StaffAction.target_type.
TARGET_PAGES = {
    "wallet": "admin:wallets_wallet_change",
    "invoice": "admin:invoices_invoice_change",
    "apikey": "admin:tenancy_apikey_change",
    "approvalrequest": "admin:backoffice_approvalrequest_change",
    "tenant": "admin:tenancy_tenant_change",
}


@admin.register(StaffAction)
class StaffActionAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    list_display = ["when_column", "staff", "kind", "target_column", "note_column", "outcome", "result_column"]
    list_filter = ["staff", "kind", "outcome", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=target_id", "staff", "note"]
    search_help_text = "Object id (exact), staff member, or part of the note."
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    fields = export_columns = ["created_at", "staff", "kind", "target_type", "target_id", "note", "outcome", "result"]
    export_filename = "staff-activity"

    @admin.display(description="When (UTC)", ordering="created_at")
    def when_column(self, obj):
        return moment(obj.created_at)

    @admin.display(description="Object", ordering="target_id")
    def target_column(self, obj):
        if not obj.target_id:
            return "—"
        page = TARGET_PAGES.get(obj.target_type)
        return short_id(obj.target_id, reverse(page, args=[quote(obj.target_id)]) if page else None)

    @admin.display(description="Note given")
    def note_column(self, obj):
        return truncated(obj.note) if obj.note else "—"

    @admin.display(description="Result")
    def result_column(self, obj):
        return truncated(obj.result)
