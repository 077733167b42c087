"""Approval requests waiting for a second staff member (four eyes): the admin index's card, the wallet page's line."""

from django import template

from backoffice import selectors
from backoffice.models import ApprovalRequest
from core.admin import may_view
from wallets.admin.display import changelist_url

register = template.Library()


@register.inclusion_tag("admin/backoffice/pending_approvals.html", takes_context=True)
def pending_approvals(context) -> dict:
    user = context["request"].user
    if not may_view(user, ApprovalRequest):
        return {"shown": False}
    total, yours = selectors.pending_approvals(user=user)
    return {
        "shown": True,
        "total": total,
        "yours": yours,
        "url": changelist_url(ApprovalRequest, status__exact=ApprovalRequest.Status.PENDING),
    }


@register.inclusion_tag("admin/backoffice/wallet_pending_approvals.html", takes_context=True)
def wallet_pending_approvals(context, wallet) -> dict:
    """On the wallet page: how many of its top-ups or debits wait for approval, linked to them."""
    if not may_view(context["request"].user, ApprovalRequest):
        return {"count": 0}
    count = selectors.pending_approvals_of_wallet(wallet.pk)
    url = changelist_url(ApprovalRequest, status__exact=ApprovalRequest.Status.PENDING, q=wallet.pk)
    return {"count": count, "url": url}
