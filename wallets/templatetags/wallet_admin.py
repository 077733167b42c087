"""Template helpers of the support back-office: the ``credits`` filter and the index overview."""

from django import template
from django.utils import timezone

from invoices.models import Invoice
from wallets.admin import selectors
from wallets.admin.display import changelist_url
from wallets.admin.display import credits as format_credits
from wallets.models import Wallet

register = template.Library()


@register.filter
def credits(value) -> str:
    """A credit or currency amount in the API's wire form: "1500", "0.5", "-50"."""
    return format_credits(value)


@register.inclusion_tag("admin/wallets/overview.html", takes_context=True)
def support_overview(context) -> dict:
    """The numbers at the top of the admin index, each linking to the wallet list it counts."""
    if not context["request"].user.has_perm("wallets.view_wallet"):
        return {"overview": None}
    overview = selectors.support_overview(now=timezone.now())
    return {
        "overview": overview,
        "outstanding": [(row, changelist_url(Wallet, status="open", currency=row.currency)) for row in overview.outstanding],
        "expiring": [(row, changelist_url(Wallet, expiring="7d", currency=row.currency)) for row in overview.expiring],
        "expiring_days": selectors.EXPIRING_WINDOW.days,
        "in_alarm_url": changelist_url(Wallet, status="open", alert_state__exact=Wallet.AlertState.IN_ALARM),
        "frozen_url": changelist_url(Wallet, status="frozen"),
        "pending_invoices_url": changelist_url(
            Invoice, invoice_status__exact=Invoice.Status.FINALIZED, payment_status__exact=Invoice.PaymentStatus.PENDING
        ),
    }
