"""The support actions on one credit lot: void what it has left, or refund a paid purchase (issue 14.3).

Started from the lot's page (its buttons show only to staff with the permission, on a lot that
still holds credits), each is a page at ``<lot>/void/`` or ``<lot>/refund/`` with the wallet
actions' steps (wallets.admin.actions): the form (the reason, recorded on the ledger row, and an
internal note for the staff activity log), then the review (the lot, what it has left, the
wallet's balance before and after, and for a refund the credit note's amount), then the
confirmation. Confirming calls wallets.services.credit_void / credit_refund once, with plain
arguments, inside ``backoffice.activity.logged``; the page's request id makes the idempotency
key, so a second submit of the same page replays instead of voiding again. Whether the lot can
be voided is the service's decision; the review only warns when it will say no.

Permissions: ``wallets.void_credits`` (Support and Finance) and ``wallets.refund_credits``
(Finance), granted by migration wallets 0012.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from backoffice import activity
from core.exceptions import ServiceError
from invoices.models import Invoice
from wallets import services
from wallets.admin.actions import admin_actor
from wallets.admin.display import change_url, credits
from wallets.ledger import money
from wallets.models import Wallet, WalletTransaction
from wallets.services.voids import MAX_REASON_LENGTH, VoidResult

NOTE_MAX_LENGTH = 2000


@dataclass(frozen=True)
class LotAction:
    name: str  # the URL segment
    permission: str
    label: str  # button text
    title: str
    done: str  # "Voided" / "Refunded"
    intro: str
    kind: str  # the staff activity log's kind
    service: Callable[..., VoidResult]
    reasons: tuple[str, ...] | None = None  # the lot reasons it is offered for (None: any credit)


VOID = LotAction(
    name="void",
    permission="wallets.void_credits",
    label="Void remaining credits",
    title="Void a lot's remaining credits",
    done="Voided",
    intro="Takes back what this credit lot has not been spent on (CREDIT_VOID). What was spent stays spent. "
    "This cannot be undone.",
    kind=activity.Kind.CREDITS_VOIDED,
    service=services.credit_void,
)
REFUND = LotAction(
    name="refund",
    permission="wallets.refund_credits",
    label="Refund remaining credits",
    title="Refund a paid lot's remaining credits",
    done="Refunded",
    intro="Takes back what this purchased lot has not been spent on (CREDIT_REFUND) and issues a credit note "
    "against its paid invoice for the invoice's price of those credits. This cannot be undone.",
    kind=activity.Kind.CREDITS_REFUNDED,
    service=services.credit_refund,
    reasons=(WalletTransaction.Reason.PURCHASED_CREDIT_INVOICED,),
)
LOT_ACTIONS = (VOID, REFUND)


class LotActionForm(forms.Form):
    required_css_class = "required"
    request_id = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    reason = forms.CharField(
        label="Reason",
        max_length=MAX_REASON_LENGTH,
        help_text="Required. Recorded on the ledger row as its description; the API shows it to the tenant.",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    note = forms.CharField(
        label="Internal note",
        max_length=NOTE_MAX_LENGTH,
        help_text="Required. For the staff activity log only: the ticket, who asked, who approved.",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


def offered(lot: WalletTransaction, action: LotAction) -> bool:
    """Whether ``action``'s button belongs on ``lot``'s page: a completed credit that still holds credits."""
    return (
        lot.type == WalletTransaction.Type.CREDIT
        and lot.transaction_status == WalletTransaction.Status.COMPLETED
        and lot.credits_available > 0
        and (action.reasons is None or lot.transaction_reason in action.reasons)
    )


def lot_actions(request: HttpRequest, lot: WalletTransaction) -> list[tuple[LotAction, str]]:
    """The lot page's buttons: (action, its page's URL) for each action this user may run on ``lot``."""
    return [
        (action, reverse(f"admin:wallets_wallettransaction_{action.name}", args=[quote(lot.pk)]))
        for action in LOT_ACTIONS
        if request.user.has_perm(action.permission) and offered(lot, action)
    ]


def urls(model_admin) -> list:
    """The two pages, as WalletTransactionAdmin.get_urls adds them."""
    site = model_admin.admin_site
    return [
        path(
            f"<path:object_id>/{action.name}/",
            site.admin_view(lambda request, object_id, action=action: lot_action_view(model_admin, request, object_id, action)),
            name=f"wallets_wallettransaction_{action.name}",
        )
        for action in LOT_ACTIONS
    ]


def lot_action_view(model_admin, request: HttpRequest, object_id: str, action: LotAction):
    lot = model_admin.get_object(request, unquote(object_id))
    if lot is None:
        raise Http404("No such transaction")
    if not (model_admin.has_view_permission(request, lot) and request.user.has_perm(action.permission)):
        raise PermissionDenied
    step = request.POST.get("step") if request.method == "POST" else None
    form = LotActionForm(request.POST if step else None)
    if step in ("review", "apply") and "_back" not in request.POST and form.is_valid():
        if step == "apply":
            _apply(model_admin, request, lot, action, form.cleaned_data)
            return HttpResponseRedirect(change_url(lot))
        return _render(model_admin, request, lot, action, form, reviewing=True)
    return _render(model_admin, request, lot, action, form, reviewing=False)


def _apply(model_admin, request: HttpRequest, lot: WalletTransaction, action: LotAction, data: dict) -> None:
    try:
        # The void or refund and its staff activity log row commit together; a refusal is logged too.
        with activity.logged(staff=request.user.get_username(), kind=action.kind, target=lot, note=data["note"]) as entry:
            result = action.service(
                environment_id=lot.environment_id,
                transaction_id=lot.pk,
                reason=data["reason"],
                idempotency_key=f"admin:{data['request_id']}:{lot.pk}",
                actor=admin_actor(request),
            )
            entry.result = _result_text(action, result)
            entry.outcome = activity.Outcome.REPEATED if result.replayed else activity.Outcome.DONE
    except ServiceError as exc:
        model_admin.message_user(request, f"Refused: {exc.message}", messages.ERROR)
        return
    if result.replayed:
        model_admin.message_user(request, f"Already done by an earlier submit of this page (not repeated): {entry.result}")
        return
    # Also Django's LogEntry, for the lot's History page (the activity log above is the audit).
    model_admin.log_change(request, lot, entry.result)
    model_admin.message_user(request, entry.result, messages.SUCCESS)


def _result_text(action: LotAction, result: VoidResult) -> str:
    row = result.transaction
    text = f"{action.done} {credits(row.credit_amount)} credits of lot {row.parent_transaction_id}, transaction {row.id}"
    note = result.credit_note
    if note is not None:
        text += f"; credit note {note.id} for {credits(note.amount)} {note.currency.upper()}"
    return f"{text}."


@dataclass(frozen=True)
class Review:
    """What the page shows about the lot and, once the form is filled in, what confirming will do."""

    wallet: Wallet
    remainder: Decimal
    balance_after: Decimal
    invoice: Invoice | None
    credit_note_amount: Decimal | None
    warning: str  # why the service will refuse, when the page can tell; "" otherwise


def _review(lot: WalletTransaction, action: LotAction) -> Review:
    wallet = Wallet.objects.get(pk=lot.wallet_id)
    remainder = lot.credits_available
    invoice = Invoice.objects.filter(wallet_transaction=lot).first() if action is REFUND else None
    note_amount = None
    if invoice is not None and remainder > 0:
        note_amount = money.pro_rata(invoice.amount_paid, part=remainder, whole=lot.credit_amount)
    warning = ""
    if not offered(lot, action):
        warning = "This lot holds no credits that can be taken back here (see its status and remaining credits)."
    elif invoice is None and action is REFUND:
        warning = "This purchase has no invoice."
    elif action is REFUND and invoice.payment_status != Invoice.PaymentStatus.SUCCEEDED:
        warning = "Its invoice is not paid."
    return Review(wallet, remainder, wallet.credit_balance - remainder, invoice, note_amount, warning)


def _render(model_admin, request, lot: WalletTransaction, action: LotAction, form, *, reviewing: bool) -> TemplateResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "title": action.title,
        "opts": model_admin.opts,
        "original": lot,
        "lot": lot,
        "lot_url": change_url(lot),
        "action": action,
        "review": _review(lot, action),
        "reviewing": reviewing,
        "form": form,
    }
    return TemplateResponse(request, "admin/wallets/wallettransaction/lot_action.html", context)
