"""Admin base classes shared by the apps' back-office pages.

Every model in this project is written by services only (balances, statuses, ledger rows,
customers, keys), so its admin is a window, not an editor: nobody adds, changes or deletes rows
here, superusers included. Changes happen through admin actions that call services.
"""

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.db import models

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
