"""The support actions on wallets: top up, manual debit, freeze, unfreeze, terminate, transfer, release holds.

Each is a Django admin action whose intermediate page has two screens:

1. the form (what, how much, why);
2. the review: the values entered and, for each selected wallet, exactly what will happen,
   with the confirmation button. Confirming calls the wallets.services function once per
   wallet (each in its own transaction) and reports every wallet's outcome in one message,
   e.g. "3 topped up, 1 refused: Wallet is frozen [wallet_…]".

The page posts back to the wallet changelist with the same ``action`` and selected ids, as
Django's own delete confirmation does; the ``step`` field says how far along it is. The wallet
page's buttons start the same flow for one wallet (``origin=detail`` brings staff back there), and
so do the customer page's (``origin=customer`` brings them back to the customer).
Whether an action is allowed for a wallet is always the service's decision; the review only
warns about wallets whose status the service will refuse.

Four eyes: a top-up or debit of more credits than the tenant's approval threshold is not posted
at confirmation but stored as an approval request (backoffice.approvals), which the review says
beforehand; ``APPROVABLE`` lists the actions that wait.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from backoffice import activity, approvals
from core.exceptions import ServiceError
from invoices.selectors import unpaid_invoices
from wallets import selectors, services
from wallets.admin.display import change_url, changelist_url, credits, timestamp
from wallets.admin.forms import (
    DebitForm,
    FreezeForm,
    ReleaseHoldsForm,
    TerminateConfirmForm,
    TerminateForm,
    TopUpForm,
    TransferForm,
    UnfreezeForm,
    WalletActionForm,
)
from wallets.ledger import money
from wallets.models import Wallet, WalletHold, WalletTransaction
from wallets.services import holds

# One page lists, reviews and reports every selected wallet; more than this is a batch job.
MAX_WALLETS = 50
Status = Wallet.Status


def admin_actor(request: HttpRequest) -> str:
    """The actor string services record in created_by: "user:<username>", cut to the column's width."""
    return approvals.actor(request.user)


def idempotency_key(data: dict, wallet: Wallet) -> str:
    # One key per (page, wallet): the same page submitted twice replays instead of writing again.
    return f"admin:{data['request_id']}:{wallet.pk}"


@dataclass(frozen=True)
class Outcome:
    replayed: bool  # an earlier submit of the same page already did it; nothing was written now
    log: str  # the entry in the wallet's admin history


@dataclass(frozen=True)
class WalletAction:
    name: str  # the admin action's name, and the has_<name>_permission suffix
    permission: str
    label: str  # button text
    title: str  # page title
    done: str  # past participle for the report: "3 topped up"
    intro: str
    form_class: type[WalletActionForm]
    applies_to: tuple[str, ...]  # the statuses the service accepts
    apply: Callable[[Wallet, dict, str], Outcome]
    preview: Callable[[Wallet, WalletActionForm | None], str]  # HTML-safe when a SafeString
    confirm_form_class: type[forms.Form] | None = None
    form_kwargs: Callable[[HttpRequest], dict] = field(default=lambda request: {})
    # Whether a page offers the action's button for a wallet its status allows (the review still lists any).
    offered: Callable[[Wallet], bool] = field(default=lambda wallet: True)

    def offered_for(self, wallet: Wallet) -> bool:
        return wallet.wallet_status in self.applies_to and self.offered(wallet)


def top_up_form_kwargs(request: HttpRequest) -> dict:
    unlimited = request.user.has_perm("wallets.top_up_wallet_unlimited")
    return {"credit_limit": None if unlimited else Decimal(settings.SUPPORT_TOP_UP_LIMIT)}


def _top_up(wallet: Wallet, data: dict, actor: str) -> Outcome:
    # The call an approved request makes too (backoffice.approvals.OPERATIONS), from the same arguments.
    result = approvals.OPERATIONS["top_up"].post(wallet, _top_up_arguments(data), idempotency_key(data, wallet), actor)
    row = result.transaction
    return Outcome(
        result.replayed,
        f"Topped up {credits(row.credit_amount)} credits ({row.transaction_reason}), transaction {row.id}. "
        f"Justification: {data['justification']}",
    )


def _top_up_preview(wallet: Wallet, form: TopUpForm | None) -> str:
    if form is None:
        return ""  # nothing to say before the form is filled in
    data = form.cleaned_data
    added = form.credits_for(wallet)
    worth = data["amount"] if data["amount"] is not None else money.credits_to_amount(added, rate=wallet.topup_conversion_rate)
    text = format_html(
        "Adds <strong>{} credits</strong> (worth {} {}) as {}",
        credits(added),
        credits(worth),
        wallet.currency.upper(),
        data["reason"],
    )
    if data["expiry_date"]:
        text += format_html("; they expire {}", timestamp(data["expiry_date"]))
    if data["priority"] is not None:
        text += format_html("; priority {}", data["priority"])
    return format_html("{}.", text)


def _debit(wallet: Wallet, data: dict, actor: str) -> Outcome:
    result = approvals.OPERATIONS["debit"].post(wallet, _debit_arguments(data), idempotency_key(data, wallet), actor)
    row = result.transaction
    return Outcome(
        result.replayed,
        f"Debited {credits(row.credit_amount)} credits (MANUAL_BALANCE_DEBIT), transaction {row.id}. "
        f"Justification: {data['justification']}",
    )


def _debit_preview(wallet: Wallet, form: DebitForm | None) -> str:
    if form is None:
        return ""
    taken = form.cleaned_data["credits"]
    return format_html(
        "Takes <strong>{} credits</strong> (worth {} {}) as MANUAL_BALANCE_DEBIT; the balance may go below zero.",
        credits(taken),
        credits(money.credits_to_amount(taken, rate=wallet.conversion_rate)),
        wallet.currency.upper(),
    )


def _freeze(wallet: Wallet, data: dict, actor: str) -> Outcome:
    services.wallet_freeze(wallet, reason=data["reason"], until=data["until"], actor=actor)
    until = f" until {timestamp(data['until'])}" if data["until"] else ""
    return Outcome(False, f"Frozen{until}. Reason: {data['reason']}")


def _freeze_preview(wallet: Wallet, form: FreezeForm | None) -> str:
    if form is None:
        return ""
    until = form.cleaned_data["until"]
    when = f"until {timestamp(until)}" if until else "until someone unfreezes it"
    return format_html("Freezes the wallet {}: top-ups and debits are refused meanwhile; credits still expire.", when)


def _unfreeze(wallet: Wallet, data: dict, actor: str) -> Outcome:
    services.wallet_unfreeze(wallet, reason=data["reason"], actor=actor)
    return Outcome(False, f"Unfrozen. Reason: {data['reason']}")


def _unfreeze_preview(wallet: Wallet, form: UnfreezeForm | None) -> str:
    if form is None:
        return ""
    return "Makes the wallet active again: it accepts top-ups and debits."


def _terminate(wallet: Wallet, data: dict, actor: str) -> Outcome:
    result = services.wallet_terminate(wallet, reason=data["reason"], actor=actor)
    row = result.transaction
    forfeited = f"forfeited {credits(row.credit_amount)} credits, transaction {row.id}" if row else "nothing to forfeit"
    return Outcome(False, f"Terminated ({forfeited}). Reason: {data['reason']}")


def _terminate_preview(wallet: Wallet, form: TerminateForm | None) -> str:
    balance = wallet.credit_balance
    if balance > 0:
        said = format_html(
            'Forfeits <strong class="wallet-forfeit">{} credits</strong> (worth {} {}) and closes the wallet for good.',
            credits(balance),
            credits(wallet.balance),
            wallet.currency.upper(),
        )
    elif balance < 0:
        said = format_html(
            "Closes the wallet for good; its negative balance of <strong>{} credits</strong> stays on it.",
            credits(balance),
        )
    else:
        said = "Closes the wallet for good; it holds no credits to forfeit."
    unpaid = unpaid_invoices(wallet.id).count()
    if unpaid:  # wallets.services.lifecycle.wallet_terminate voids them: their credits could never be spent
        said = format_html(
            "{} Voids its <strong>{} unpaid invoice{}</strong>: their credits will not be delivered.",
            said,
            unpaid,
            pluralize(unpaid),
        )
    return said


TOP_UP = WalletAction(
    name="top_up",
    permission="wallets.top_up_wallet",
    label="Top up",
    title="Top up wallets",
    done="topped up",
    intro="Adds credits to each selected wallet as one ledger transaction. Only active wallets can be topped up.",
    form_class=TopUpForm,
    applies_to=(Status.ACTIVE,),
    apply=_top_up,
    preview=_top_up_preview,
    form_kwargs=top_up_form_kwargs,
)
DEBIT = WalletAction(
    name="debit",
    permission="wallets.debit_wallet",
    label="Manual debit",
    title="Debit wallets manually",
    done="debited",
    intro="Takes credits from each selected wallet (MANUAL_BALANCE_DEBIT). Only active wallets can be debited.",
    form_class=DebitForm,
    applies_to=(Status.ACTIVE,),
    apply=_debit,
    preview=_debit_preview,
)
FREEZE = WalletAction(
    name="freeze",
    permission="wallets.freeze_wallet",
    label="Freeze",
    title="Freeze wallets",
    done="frozen",
    intro="A frozen wallet refuses top-ups and debits until it is unfrozen. Only active wallets can be frozen.",
    form_class=FreezeForm,
    applies_to=(Status.ACTIVE,),
    apply=_freeze,
    preview=_freeze_preview,
)
UNFREEZE = WalletAction(
    name="unfreeze",
    permission="wallets.unfreeze_wallet",
    label="Unfreeze",
    title="Unfreeze wallets",
    done="unfrozen",
    intro="Makes frozen wallets active again.",
    form_class=UnfreezeForm,
    applies_to=(Status.FROZEN,),
    apply=_unfreeze,
    preview=_unfreeze_preview,
)
TERMINATE = WalletAction(
    name="terminate",
    permission="wallets.terminate_wallet",
    label="Terminate",
    title="Terminate wallets",
    done="terminated",
    intro="Closes each selected wallet for good. Its remaining credits are forfeited (debited as "
    "WALLET_TERMINATION) and cannot be given back. This cannot be undone.",
    form_class=TerminateForm,
    applies_to=(Status.ACTIVE, Status.FROZEN),
    apply=_terminate,
    preview=_terminate_preview,
    confirm_form_class=TerminateConfirmForm,
)


# --- Transfer (issue 14): one wallet at a time, to another wallet of the same customer.


def _transfer(wallet: Wallet, data: dict, actor: str) -> Outcome:
    destination = selectors.wallet_get(environment_id=wallet.environment_id, wallet_id=data["to_wallet"])
    result = services.wallet_transfer(
        wallet,
        destination,
        credits=data["credits"],
        idempotency_key=idempotency_key(data, wallet),
        description=data["justification"],
        metadata={"justification": data["justification"]},
        actor=actor,
    )
    return Outcome(
        result.replayed,
        f"Transferred {credits(result.transfer.credits)} credits to {destination.pk}, transfer {result.transfer.id} "
        f"(debit {result.debit.id}; credits {', '.join(row.id for row in result.credits)}). Note: {data['justification']}",
    )


def _transfer_preview(wallet: Wallet, form: TransferForm | None) -> str:
    """Both wallets' balances before and after, as the review shows them."""
    if form is None:
        return ""
    moved, destination = form.cleaned_data["credits"], form.destinations[form.cleaned_data["to_wallet"]]
    text = format_html(
        "Moves <strong>{} credits</strong> to {} ({}).<br>This wallet: {} → <strong>{}</strong> credits.<br>"
        "{}: {} → <strong>{}</strong> credits.<br>"
        "Each moved lot keeps its expiry and priority; purchased credits stay purchased.",
        credits(moved),
        destination,
        destination.pk,
        credits(wallet.credit_balance),
        credits(wallet.credit_balance - moved),
        destination,
        credits(destination.credit_balance),
        credits(destination.credit_balance + moved),
    )
    if moved > wallet.credit_balance:
        text += format_html(
            '<br><strong class="wallet-warning">This wallet holds only {} credits: it will be refused.</strong>',
            credits(wallet.credit_balance),
        )
    return text


TRANSFER = WalletAction(
    name="transfer",
    permission="wallets.transfer_credits",
    label="Transfer credits",
    title="Transfer credits to another wallet",
    done="transferred",
    intro="Moves credits from this wallet to another active wallet of the same customer, currency and conversion "
    "rate, as one TRANSFER_OUT debit here and one TRANSFER_IN credit there per lot moved. Both wallets must be active.",
    form_class=TransferForm,
    applies_to=(Status.ACTIVE,),
    apply=_transfer,
    preview=_transfer_preview,
)


def _release_holds(wallet: Wallet, data: dict, actor: str) -> Outcome:
    results = holds.wallet_release_holds(wallet, key_prefix=f"admin:{data['request_id']}", actor=actor)
    released = ", ".join(f"{result.hold.id} ({credits(result.hold.credits)} credits)" for result in results) or "none open"
    return Outcome(
        bool(results) and all(result.replayed for result in results),
        f"Released holds: {released}. Reason: {data['reason']}",
    )


def _release_holds_preview(wallet: Wallet, form: ReleaseHoldsForm | None) -> str:
    open_holds = list(WalletHold.objects.filter(wallet=wallet, hold_status=WalletHold.Status.HELD).order_by("created_at", "id"))
    if not open_holds:
        return "Has no open hold: nothing to release."
    listed = format_html_join(
        ", ", "{} ({} credits, expires {})", ((hold.id, credits(hold.credits), timestamp(hold.expires_at)) for hold in open_holds)
    )
    return format_html("Gives back every reserved credit of its open holds to their lots: {}.", listed)


RELEASE_HOLDS = WalletAction(
    name="release_holds",
    permission="wallets.release_hold",
    label="Release holds",
    title="Release open holds",
    done="released",
    intro="Releases every open hold of each selected wallet: the reserved credits go back to their lots and "
    "the holds' owners can no longer capture them. For holds stuck after a failed job.",
    form_class=ReleaseHoldsForm,
    applies_to=(Status.ACTIVE, Status.FROZEN),
    apply=_release_holds,
    preview=_release_holds_preview,
    offered=lambda wallet: wallet.held_credits > 0,
)
ACTIONS = (TOP_UP, DEBIT, FREEZE, UNFREEZE, TERMINATE, TRANSFER, RELEASE_HOLDS)


# --- Four-eyes approval (backoffice.approvals) ------------------------------------------------------
# A top-up or debit of more credits than the tenant's approval_threshold_credits does not post at
# confirmation: it becomes an approval request that a second staff member with the approve
# permission posts. Superusers are not exempt: four eyes means four eyes. At or under the
# threshold (or with no threshold) the action posts as before.


def _top_up_arguments(data: dict) -> dict:
    return approvals.plain_arguments(
        reason=data["reason"],
        credits=data["credits"],
        amount=data["amount"],
        expiry_date=data["expiry_date"],
        priority=data["priority"],
        description=data["justification"],
        metadata={"justification": data["justification"]},
    )


def _debit_arguments(data: dict) -> dict:
    return approvals.plain_arguments(
        credits=data["credits"],
        reason=WalletTransaction.Reason.MANUAL_BALANCE_DEBIT,
        description=data["justification"],
        metadata={"justification": data["justification"]},
    )


# The actions that wait for approval above the threshold: action name (= the approvals operation)
# → the operation's plain arguments from the form's cleaned data.
APPROVABLE: dict[str, Callable[[dict], dict]] = {"top_up": _top_up_arguments, "debit": _debit_arguments}


def _approval_needed(action: WalletAction, wallet: Wallet, data: dict) -> dict | None:
    """The operation's arguments when this action on ``wallet`` must wait for approval, else None."""
    if action.name not in APPROVABLE or wallet.wallet_status not in action.applies_to:
        return None  # a wallet the service refuses anyway is refused at once, not after an approval
    arguments = APPROVABLE[action.name](data)
    credits = approvals.OPERATIONS[action.name].credits(wallet, arguments)
    return arguments if approvals.needs_approval(wallet, credits) else None


def _approval_notice(action: WalletAction, wallet: Wallet, data: dict) -> str:
    """What the review says beforehand about a wallet whose movement will wait for approval."""
    if _approval_needed(action, wallet, data) is None:
        return ""
    return format_html(
        '<strong class="wallet-approval">Needs approval:</strong> more than this tenant\'s threshold of {} credits. '
        "Confirming creates an approval request; nothing moves until a second staff member approves it.",
        credits(approvals.threshold(wallet)),
    )


def run(model_admin, request: HttpRequest, queryset, action: WalletAction):
    """The admin action body: show the form, then the review, then apply and report."""
    wallets = list(queryset.select_related("customer", "tenant").order_by("pk")[: MAX_WALLETS + 1])
    if len(wallets) > MAX_WALLETS:
        model_admin.message_user(
            request, f"Select at most {MAX_WALLETS} wallets for one action; nothing was done.", messages.ERROR
        )
        return None
    step = request.POST.get("step")
    form = action.form_class(request.POST if step else None, wallets=wallets, **action.form_kwargs(request))
    confirm = None
    if action.confirm_form_class is not None:
        confirm = action.confirm_form_class(request.POST if step == "apply" else None)
    if step in ("review", "apply") and "_back" not in request.POST and form.is_valid():
        if step == "apply" and (confirm is None or confirm.is_valid()):
            _apply_all(model_admin, request, action, wallets, form.cleaned_data)
            if origin := _origin(request, wallets):
                return HttpResponseRedirect(ORIGINS[origin](wallets[0]))
            return None  # Django redirects to the changelist
        return _render(model_admin, request, action, wallets, form, confirm, reviewing=True)
    return _render(model_admin, request, action, wallets, form, confirm, reviewing=False)


# The pages a one-wallet action can start from, and the way back to each.
ORIGINS = {"detail": change_url, "customer": lambda wallet: change_url(wallet.customer)}


def _origin(request: HttpRequest, wallets: list[Wallet]) -> str:
    """Started for one wallet from its own page or its customer's: staff go back there, not to the list."""
    origin = request.POST.get("origin", "")
    return origin if origin in ORIGINS and len(wallets) == 1 else ""


def _apply_all(model_admin, request: HttpRequest, action: WalletAction, wallets: list[Wallet], data: dict) -> None:
    actor = admin_actor(request)
    done, repeated, refused, waiting = [], [], defaultdict(list), []
    note = data.get("justification") or data.get("reason", "")
    for wallet in wallets:
        try:
            if (arguments := _approval_needed(action, wallet, data)) is not None:
                # Not posted: it waits for a second staff member (the request is logged by the service).
                requested = approvals.request_approval(
                    wallet,
                    operation=action.name,
                    arguments=arguments,
                    note=note,
                    user=request.user,
                    request_key=idempotency_key(data, wallet),
                )
                approval = requested.approval
                # A repeated submit of this page finds its request again, which may be decided by now.
                waiting.append(f"{approval.pk} (asked before, now {approval.status})" if requested.replayed else approval.pk)
                continue
            # The action and its staff activity log row commit together; a refusal is logged too.
            with activity.logged(staff=request.user.get_username(), kind=action.name, target=wallet, note=note) as entry:
                outcome = action.apply(wallet, data, actor)
                entry.result = outcome.log
                entry.outcome = activity.Outcome.REPEATED if outcome.replayed else activity.Outcome.DONE
        except ServiceError as exc:
            refused[exc.message].append(wallet.pk)
            continue
        if outcome.replayed:
            repeated.append(wallet)
        else:
            done.append(wallet)
            # Also Django's LogEntry: it feeds the wallet's History page and the index's "Recent actions";
            # the activity log above is the audit (every staff member, refusals too, filterable, exported).
            model_admin.log_change(request, wallet, outcome.log)
    parts = [f"{len(done)} {action.done}"] if done or repeated or not waiting else []
    if waiting:
        parts.append(f"Waiting for approval by a second staff member: {', '.join(waiting)}")
    if repeated:
        parts.append(f"{len(repeated)} already {action.done} by an earlier submit of this page (not repeated)")
    parts += [f"{len(ids)} refused: {message} [{', '.join(ids)}]" for message, ids in refused.items()]
    level = messages.SUCCESS if not refused else messages.WARNING if done or repeated or waiting else messages.ERROR
    model_admin.message_user(request, ", ".join(parts), level)


def _summary(form: WalletActionForm) -> list[tuple[str, str]]:
    """The values entered, as the review shows them (empty optional fields left out)."""
    rows = []
    for name, form_field in form.fields.items():
        value = form.cleaned_data.get(name)
        if form_field.widget.is_hidden or value in (None, ""):
            continue
        if isinstance(form_field, forms.ChoiceField):
            value = dict(form_field.choices).get(value, value)
        elif isinstance(value, Decimal):
            value = money.format_decimal(value)
        elif isinstance(value, datetime):
            value = timestamp(value)
        rows.append((form_field.label, value))
    return rows


def _render(model_admin, request, action, wallets, form, confirm, *, reviewing: bool) -> TemplateResponse:
    rows = [
        {
            "wallet": wallet,
            "url": change_url(wallet),
            "refused": wallet.wallet_status not in action.applies_to,
            "preview": action.preview(wallet, form if reviewing else None),
            "approval": _approval_notice(action, wallet, form.cleaned_data) if reviewing else "",
        }
        for wallet in wallets
    ]
    origin = _origin(request, wallets)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": action.title,
        "opts": model_admin.opts,
        "action": action,
        "reviewing": reviewing,
        "rows": rows,
        "show_preview": any(row["refused"] or row["preview"] for row in rows),
        "needs_approval": any(row["approval"] for row in rows),
        "form": form,
        "confirm_form": confirm,
        "summary": _summary(form) if reviewing else [],
        "origin": origin,
        "cancel_url": ORIGINS[origin](wallets[0]) if origin else changelist_url(Wallet),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/wallets/wallet/action.html", context)
