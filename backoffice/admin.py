"""The staff activity log in the admin: read-only, filterable by staff member, action and date, exportable as CSV.

Also the admin site's own settings that serve the whole back-office (header, no navigation sidebar:
the pages need its width to fit 1280 px; the index and breadcrumbs lead everywhere).
"""

import csv
from datetime import datetime

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import path, reverse
from django.utils import timezone

from backoffice.models import StaffAction
from core import csv_cells
from core.admin import ReadOnlyModelAdmin
from core.admin_cells import moment, short_id, truncated

admin.site.site_header = "Wallet back-office"
admin.site.site_title = "Wallet back-office"
admin.site.enable_nav_sidebar = False

EXPORT_COLUMNS = ["created_at", "staff", "kind", "target_type", "target_id", "note", "outcome", "result"]
# Admin pages of the objects the log names, by StaffAction.target_type.
TARGET_PAGES = {
    "wallet": "admin:wallets_wallet_change",
    "invoice": "admin:invoices_invoice_change",
    "apikey": "admin:tenancy_apikey_change",
}


def _csv_cell(value) -> str:
    # Written as the ledger export writes its cells; notes are typed by people, so formulas are neutralised.
    return csv_cells.timestamp(value) if isinstance(value, datetime) else csv_cells.text(str(value))


@admin.register(StaffAction)
class StaffActionAdmin(ReadOnlyModelAdmin):
    list_display = ["when_column", "staff", "kind", "target_column", "note_column", "outcome", "result_column"]
    list_filter = ["staff", "kind", "outcome", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=target_id", "staff", "note"]
    search_help_text = "Object id (exact), staff member, or part of the note."
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    fields = EXPORT_COLUMNS

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

    def get_urls(self):
        export = path("export.csv", self.admin_site.admin_view(self.export_view), name="backoffice_staffaction_export")
        return [export, *super().get_urls()]

    def export_view(self, request):
        """The rows the filtered list shows (all its pages), as a CSV file."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            rows = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("This export link holds an unknown filter; filter the list again.")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="staff-activity-{timezone.now():%Y%m%dT%H%M%SZ}.csv"'
        writer = csv.writer(response)
        writer.writerow(EXPORT_COLUMNS)
        for row in rows.values_list(*EXPORT_COLUMNS).iterator():
            writer.writerow([_csv_cell(value) for value in row])
        return response
