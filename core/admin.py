"""Admin base classes shared by the apps' back-office pages.

Every model in this project is written by services only (balances, statuses, ledger rows,
customers, keys), so its admin is a window, not an editor: nobody adds, changes or deletes rows
here, superusers included. Changes happen through admin actions that call services.
"""

import csv
import json
from datetime import datetime

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import path, reverse
from django.utils import timezone

from core import csv_cells
from core.db.replica import replica_reads


def may_view(user, model: type[models.Model]) -> bool:
    """Whether ``user`` may see rows of ``model`` anywhere in the back-office: its Django view permission.

    Read-only admins grant no change permission, so view is the whole rule (as Django's inlines apply it).
    """
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Rows shown field by field, never edited; Django then renders the detail page read-only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @replica_reads(get_only=True)
    def changelist_view(self, request, extra_context=None):
        # A list page tolerates a replica's lag; its actions (POST) write and stay on the primary.
        return super().changelist_view(request, extra_context)

    def get_readonly_fields(self, request, obj=None):
        # Display methods named in the fieldsets must be read-only fields, or the form refuses them.
        # (Read from the attributes: get_fieldsets() itself asks for the read-only fields.)
        if self.fieldsets:
            return flatten_fieldsets(self.fieldsets)
        return self.fields or [field.name for field in self.opts.concrete_fields]


class ReadOnlyTabularInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CsvExportMixin:
    """A list page's "Export as CSV" link: exactly the rows its filters select (all its pages).

    Cells are written by core.csv_cells, so a cell typed by a person (a note) never runs as a
    spreadsheet formula. Set ``export_columns`` (the model's field names, or ``__`` lookups) and
    ``export_filename`` (the file name's start); the link lives in admin/csv_export_change_list.html.
    ``export_permission``, when set, is asked on top of the view permission (and hides the link).
    """

    export_columns: list[str]
    export_filename: str
    export_permission: str | None = None
    change_list_template = "admin/csv_export_change_list.html"

    def _export_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_export"

    def get_urls(self):
        export = path("export.csv", self.admin_site.admin_view(self.export_view), name=self._export_url_name())
        return [export, *super().get_urls()]

    def _may_export(self, request) -> bool:
        return self.has_view_permission(request) and (
            self.export_permission is None or request.user.has_perm(self.export_permission)
        )

    def changelist_view(self, request, extra_context=None):
        if self._may_export(request):
            extra_context = {"export_url": reverse(f"admin:{self._export_url_name()}"), **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        if not self._may_export(request):
            raise PermissionDenied
        try:
            rows = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("This export link holds an unknown filter; filter the list again.")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = f"{timezone.now():%Y%m%dT%H%M%SZ}"
        response["Content-Disposition"] = f'attachment; filename="{self.export_filename}-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(self.export_columns)
        for row in rows.values_list(*self.export_columns).iterator():
            writer.writerow([self.export_cell(value) for value in row])
        return response

    def export_cell(self, value) -> str:
        """One cell, written as the ledger export writes its cells; text a spreadsheet would run is neutralised."""
        return csv_cell(value)


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return csv_cells.timestamp(value)
    if isinstance(value, dict | list):
        return csv_cells.text(json.dumps(value, sort_keys=True))
    return csv_cells.text(str(value))
