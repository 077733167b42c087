"""Support back-office for customers: find one (name, email, external id, id) and reach its wallets.

The customer page is the support person's home: the wallets with balances and action buttons,
credits expiring within 30 days (and whether each lot's expiry reminder went out, or when it will),
the open holds (each linked to its row on its wallet's page, with "Release holds…" per wallet), the
latest ledger rows, open invoices, alert state and freeze history, read through
backoffice.selectors.customer_summary. Each section is read and shown only to staff with the view
permission of its rows; the page names the sections it left out.
Read-only: customers are written through the API (customers.services).
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.utils import timezone

from backoffice.selectors import EXPIRING_WINDOW, Sections, customer_summary
from core.admin import ReadOnlyModelAdmin, may_view
from core.admin_cells import moment, short_id, truncated
from customers.models import Customer
from invoices.models import Invoice
from wallets.admin.actions import ACTIONS, RELEASE_HOLDS
from wallets.admin.display import changelist_url
from wallets.models import AlertLog, Wallet, WalletStatusChange, WalletTransaction

# What the page tells staff it left out, by the Sections flag that shows it.
HIDDEN_SECTION_NAMES = {
    "wallets": "wallets",
    "expiring credits, open holds and ledger rows": "ledger",
    "open invoices": "invoices",
    "alert state changes": "alerts",
    "freeze and termination history": "status_history",
}


@admin.register(Customer)
class CustomerAdmin(ReadOnlyModelAdmin):
    list_display = ["name_column", "email_column", "external_id_column", "id_column", "environment", "status", "created_column"]
    list_filter = ["status", "environment"]
    search_fields = ["=id", "=external_id", "name", "email"]
    search_help_text = "Customer id or external id (exact), or part of the name or email."
    list_select_related = ["environment__tenant"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False

    class Media:
        css = {"all": ["wallets/admin.css"]}

    fieldsets = [
        ("Customer", {"fields": ["id", "external_id", "name", "email", "status", "environment"]}),
        (
            "Address",
            {
                "classes": ["collapse"],
                "fields": [
                    "address_line1",
                    "address_line2",
                    "address_city",
                    "address_state",
                    "address_postal_code",
                    "address_country",
                ],
            },
        ),
        ("Record", {"classes": ["collapse"], "fields": ["metadata", "created_at", "created_by", "updated_at", "updated_by"]}),
    ]

    @admin.display(description="Name", ordering="name")
    def name_column(self, obj):
        return truncated(obj.name or obj.external_id)

    @admin.display(description="Email", ordering="email")
    def email_column(self, obj):
        return truncated(obj.email) if obj.email else "—"

    @admin.display(description="External id", ordering="external_id")
    def external_id_column(self, obj):
        return truncated(obj.external_id)

    @admin.display(description="Customer id", ordering="id")
    def id_column(self, obj):
        return short_id(obj.pk)

    @admin.display(description="Created (UTC)", ordering="created_at")
    def created_column(self, obj):
        return moment(obj.created_at)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, unquote(object_id))
        if customer is not None and self.has_view_permission(request, customer):
            extra_context = {**(extra_context or {}), **self._customer_page_context(request, customer)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _customer_page_context(self, request, customer: Customer) -> dict:
        user = request.user
        # Each section needs the view permission of the rows it shows, as the find box and Django's inlines ask.
        sections = Sections(
            wallets=may_view(user, Wallet),
            ledger=may_view(user, WalletTransaction),
            invoices=may_view(user, Invoice),
            alerts=may_view(user, AlertLog),
            status_history=may_view(user, WalletStatusChange),
        )
        now = timezone.now()
        summary = customer_summary(customer=customer, now=now, sections=sections)
        permitted = self.admin_site.get_model_admin(Wallet).get_actions(request)
        # Per wallet, the buttons of the actions this user may run and the wallet's status allows
        # (get_actions asks each action's has_<name>_permission); no wallets shown, no buttons.
        wallet_rows = [
            (wallet, [a for a in ACTIONS if a.name in permitted and a.offered_for(wallet)]) for wallet in summary.wallets or []
        ]
        return {
            "summary": summary,
            "sections": sections,
            "hidden_sections": [name for name, shown in HIDDEN_SECTION_NAMES.items() if not getattr(sections, shown)],
            "expiring_days": EXPIRING_WINDOW.days,
            "now": now,  # an expiry reminder due before now goes out at the next sweep
            "wallet_rows": wallet_rows,
            # Under the open holds: "Release holds…" for each wallet that offers it, the wallet page's action.
            "release_holds_wallets": [wallet for wallet, actions in wallet_rows if RELEASE_HOLDS in actions],
            "wallet_changelist_url": changelist_url(Wallet),
        }
