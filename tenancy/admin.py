"""Tenants, environments and API keys in the admin: read-only, for finding out who a row belongs to.

Two exceptions: the tenant's four-eyes threshold (approval_threshold_credits) and how many days
before a lot expires its reminder goes out (credit_expiry_reminder_days) are set on the tenant's
page by staff with tenancy.change_tenant, with a reason, through tenancy.services; each change is
logged in the staff activity log (one row per setting changed).

Keys are created, rotated and revoked with the management commands (tenancy.services); the
key hash is never shown.
"""

from django import forms
from django.contrib import admin

from backoffice import activity
from core.admin import ReadOnlyModelAdmin
from core.admin_cells import short_id
from tenancy import services
from tenancy.models import ApiKey, Environment, Tenant


@admin.display(description="ID", ordering="id")
def id_column(obj):
    return short_id(obj.pk)


SETTINGS = ["approval_threshold_credits", "credit_expiry_reminder_days"]  # what staff may change on the page


class TenantSettingsForm(forms.ModelForm):
    """The tenant settings staff change here (the four-eyes threshold, the expiry reminder days), with the reason."""

    change_reason = forms.CharField(
        label="Reason for the change",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required. Kept in the staff activity log.",
    )

    class Meta:
        model = Tenant
        fields = SETTINGS
        labels = {"credit_expiry_reminder_days": "Expiry reminder (days before)"}
        help_texts = {
            "approval_threshold_credits": "Admin top-ups and debits of more credits than this wait for a second "
            "staff member's approval. Empty: no approval needed.",
            "credit_expiry_reminder_days": "The workers send wallet.credits.expiring once per lot, this many days "
            f"before it expires (0 to {services.MAX_EXPIRY_REMINDER_DAYS}; 0 turns reminders off). A change takes "
            "effect at the next sweep; reminders already sent are not sent again.",
        }

    def clean_approval_threshold_credits(self):
        value = self.cleaned_data["approval_threshold_credits"]
        if value is not None and value <= 0:
            raise forms.ValidationError("Give a positive number of credits, or leave it empty to turn approval off.")
        return value

    def clean_credit_expiry_reminder_days(self):
        days = self.cleaned_data["credit_expiry_reminder_days"]
        if not 0 <= days <= services.MAX_EXPIRY_REMINDER_DAYS:
            raise forms.ValidationError(
                f"Give a whole number of days from 0 to {services.MAX_EXPIRY_REMINDER_DAYS}; 0 turns reminders off."
            )
        return days

    def clean_change_reason(self):
        reason = self.cleaned_data["change_reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the settings change.")
        return reason

    def changed_settings(self) -> list[str]:
        # Not Meta.fields: the admin builds the form with its own Meta, listing every field of the page.
        return [name for name in SETTINGS if name in self.changed_data]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.changed_settings():
            raise forms.ValidationError("Nothing changed: change a setting, or leave the page.")
        return cleaned


@admin.register(Tenant)
class TenantAdmin(ReadOnlyModelAdmin):
    """Read-only but for the four-eyes threshold and the expiry reminder days, which staff with
    tenancy.change_tenant set (with a reason)."""

    list_display = [
        "name",
        id_column,
        "auto_complete_purchased_credits",
        "approval_threshold_credits",
        "credit_expiry_reminder_days",
        "created_at",
    ]
    search_fields = ["=id", "name"]
    fields = [
        "id",
        "name",
        "auto_complete_purchased_credits",
        "approval_threshold_credits",
        "credit_expiry_reminder_days",
        "created_at",
    ]
    form = TenantSettingsForm

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("tenancy.change_tenant")

    def get_fields(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return [*self.fields, "change_reason"]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return ["id", "name", "auto_complete_purchased_credits", "created_at"]
        return self.fields

    def save_model(self, request, obj, form, change):
        # Through the services, in the page's transaction, one staff activity log row per setting changed.
        changed = form.changed_settings()
        note = form.cleaned_data["change_reason"]
        staff = request.user.get_username()
        if "approval_threshold_credits" in changed:
            threshold = form.cleaned_data["approval_threshold_credits"]
            with activity.logged(staff=staff, kind=activity.Kind.APPROVAL_THRESHOLD, target=obj, note=note) as entry:
                services.tenant_set_approval_threshold(obj, threshold)
                entry.result = f"Approval threshold: {'off' if threshold is None else f'{threshold.normalize():f} credits'}"
        if "credit_expiry_reminder_days" in changed:
            days = form.cleaned_data["credit_expiry_reminder_days"]
            with activity.logged(staff=staff, kind=activity.Kind.EXPIRY_REMINDER_DAYS, target=obj, note=note) as entry:
                services.tenant_set_expiry_reminder_days(obj, days)
                entry.result = f"Expiry reminders: {f'{days} days before expiry' if days else 'off'}"


@admin.register(Environment)
class EnvironmentAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "tenant", id_column, "created_at"]
    list_select_related = ["tenant"]
    search_fields = ["=id", "name", "tenant__name"]
    fields = ["id", "tenant", "name", "created_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyModelAdmin):
    list_display = [
        "prefix",
        "name",
        "environment",
        "read_only_column",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["read_only", "environment"]
    list_select_related = ["environment__tenant"]
    search_fields = ["=id", "=prefix", "name"]
    fields = ["id", "prefix", "name", "environment", "read_only", "created_at", "expires_at", "revoked_at", "last_used_at"]

    @admin.display(description="Read-only", boolean=True, ordering="read_only")
    def read_only_column(self, obj):
        return obj.read_only
