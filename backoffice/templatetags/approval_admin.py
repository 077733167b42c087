"""The admin index's card of approval requests waiting for a second staff member (four eyes)."""

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
