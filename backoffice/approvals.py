"""Four-eyes approval of large manual money movements: asking, approving, refusing, cancelling.

The admin's manual top-ups and debits of more credits than the tenant's
``approval_threshold_credits`` (None: the rule is off) do not post: they become an
ApprovalRequest, and a second staff member with ``backoffice.approve_request`` posts it by
approving. Superusers are not exempt: four eyes means four eyes, whoever asks.

``OPERATIONS`` is the registry of what can wait for approval: each entry is a name, how many
credits a call moves (compared with the threshold), and the one wallets.services call it makes,
from arguments stored as plain JSON (decimals and instants as strings, never floats). Another
operation (voiding a lot, say) is one more entry and one more ApprovalOperation choice.

Approving runs that call exactly once: the request row is locked while deciding, only a pending
request can be decided, and the ledger idempotency key derives from the request id, so a double
click or two approvers at once post one ledger row. The decision, the posting and the staff
activity log row (backoffice.activity) commit together. A refusal by the wallet service at
approval time (the wallet was frozen meanwhile) records the request as failed with its error,
and nothing posts. Every attempt, refused ones too, is in the staff activity log.

This module is a service (ARCHITECTURE.md): the admin pages call it and stay thin.
"""

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from backoffice import activity
from backoffice.models import ApprovalOperation, ApprovalRequest, ApprovalStatus
from core import inputs
from core.exceptions import AlreadyExists, InvalidOperation, NotFound, PermissionDenied, ServiceError, ValidationFailed
from wallets import services
from wallets.ledger import money
from wallets.ledger.idempotency import LedgerResult
from wallets.models import Wallet, WalletTransaction

APPROVE_PERMISSION = "backoffice.approve_request"
NOTE_MAX_LENGTH = 2000
Kind = activity.Kind


# --- The registry of approvable operations ------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    name: str  # an ApprovalOperation value
    # The credits the call moves, compared with the threshold; raises ValidationFailed for bad arguments.
    credits: Callable[[Wallet, dict], Decimal]
    # The one wallets.services call: (wallet, arguments, idempotency_key, actor) -> its result.
    post: Callable[[Wallet, dict, str, str], LedgerResult]


def plain(value):
    """A service argument as JSON stores it exactly: Decimal as its wire string, an instant as ISO 8601."""
    if isinstance(value, Decimal):
        return money.format_decimal(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def plain_arguments(**arguments) -> dict:
    return {name: plain(value) for name, value in arguments.items()}


def _decimal(arguments: dict, name: str) -> Decimal | None:
    raw = arguments.get(name)
    return None if raw is None else money.parse_decimal(raw, field=f"arguments.{name}")


def _instant(arguments: dict, name: str) -> datetime | None:
    raw = arguments.get(name)
    if raw is None:
        return None
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    if parsed is None:
        raise ValidationFailed(f"arguments.{name} must be an ISO 8601 instant", field=f"arguments.{name}")
    return parsed


def _top_up_credits(wallet: Wallet, arguments: dict) -> Decimal:
    # As wallets.services.credits reads them: non-zero credits win, else the amount at the top-up rate.
    credits = _decimal(arguments, "credits")
    if credits is not None:
        return money.check_credits(credits, field="arguments.credits")
    amount = money.check_credits(_decimal(arguments, "amount"), field="arguments.amount")
    return money.amount_to_credits(amount, rate=wallet.topup_conversion_rate)


def _top_up(wallet: Wallet, arguments: dict, idempotency_key: str, actor: str) -> LedgerResult:
    return services.wallet_top_up(
        wallet,
        reason=arguments["reason"],
        credits=_decimal(arguments, "credits"),
        amount=_decimal(arguments, "amount"),
        expiry_date=_instant(arguments, "expiry_date"),
        priority=arguments.get("priority"),
        idempotency_key=idempotency_key,
        description=arguments.get("description", ""),
        metadata=arguments.get("metadata"),
        actor=actor,
    )


def _debit_credits(wallet: Wallet, arguments: dict) -> Decimal:
    return money.check_credits(_decimal(arguments, "credits"), field="arguments.credits")


def _debit(wallet: Wallet, arguments: dict, idempotency_key: str, actor: str) -> LedgerResult:
    return services.wallet_debit(
        wallet,
        credits=_decimal(arguments, "credits"),
        idempotency_key=idempotency_key,
        reason=arguments.get("reason", WalletTransaction.Reason.MANUAL_BALANCE_DEBIT),
        description=arguments.get("description", ""),
        metadata=arguments.get("metadata"),
        actor=actor,
    )


OPERATIONS: dict[str, Operation] = {
    operation.name: operation
    for operation in (
        Operation(ApprovalOperation.TOP_UP, credits=_top_up_credits, post=_top_up),
        Operation(ApprovalOperation.DEBIT, credits=_debit_credits, post=_debit),
    )
}


# --- The rule --------------------------------------------------------------------------------------


def threshold(wallet: Wallet) -> Decimal | None:
    """The most credits one manual movement on ``wallet`` may move without approval; None: no limit."""
    return wallet.tenant.approval_threshold_credits


def needs_approval(wallet: Wallet, credits: Decimal) -> bool:
    """Strictly above the tenant's threshold waits for approval; equal to it posts at once."""
    limit = threshold(wallet)
    return limit is not None and credits > limit


def idempotency_key(approval: ApprovalRequest) -> str:
    """The ledger key of an approval's posting: one request, one posting, however often it is approved."""
    return f"approval:{approval.pk}"


def actor(user) -> str:
    """The created_by of a staff member's posting: "user:<username>", cut to the column's width (admin actions use it)."""
    max_length = WalletTransaction._meta.get_field("created_by").max_length
    return f"user:{user.get_username()}"[:max_length]


# --- Asking ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requested:
    approval: ApprovalRequest
    replayed: bool  # the same page was submitted before: this is the request it created then


def request_approval(wallet: Wallet, *, operation: str, arguments: dict, note: str, user, request_key: str) -> Requested:
    """Store ``operation(wallet, **arguments)`` as a pending request instead of posting it.

    ``request_key`` identifies the requesting page (its idempotency key): the same key with the
    same request replays it, with another request it is AlreadyExists. Refused when the movement
    does not need approval (at or under the threshold, or the rule is off): it should simply post.
    """
    with activity.logged(staff=user.get_username(), kind=Kind.APPROVAL_REQUESTED, target=wallet, note=note or "") as entry:
        if operation not in OPERATIONS:
            raise ValidationFailed(f"{operation!r} cannot wait for approval", field="operation")
        note = _note(note, field="note", required=True)
        _check_plain(arguments, field="arguments")
        credits = OPERATIONS[operation].credits(wallet, arguments)
        if not needs_approval(wallet, credits):
            raise InvalidOperation(
                f"{money.format_decimal(credits)} credits do not exceed the tenant's approval threshold; no approval is needed"
            )
        fields = {"wallet": wallet, "operation": operation, "credits": credits, "arguments": arguments, "requested_by": user}
        try:
            with transaction.atomic():
                approval = ApprovalRequest.objects.create(
                    **fields,
                    tenant_id=wallet.tenant_id,
                    environment_id=wallet.environment_id,
                    note=note,
                    request_key=request_key,
                )
            replayed = False
        except IntegrityError:
            approval = ApprovalRequest.objects.filter(environment_id=wallet.environment_id, request_key=request_key).first()
            if approval is None:
                raise
            if any(getattr(approval, name) != value for name, value in fields.items()):
                raise AlreadyExists("This page already asked for another approval; start the action again") from None
            replayed = True
        entry.result = f"{approval.pk}: {describe(approval)}; waiting for approval"
        entry.outcome = activity.Outcome.REPEATED if replayed else activity.Outcome.DONE
    return Requested(approval, replayed)


# --- Deciding --------------------------------------------------------------------------------------


def approve(approval_id: str, *, user, note: str = "") -> ApprovalRequest:
    """Post the request's operation once, as ``user``; the request is then approved, or failed with the service's refusal."""
    note = _note(note, field="decision_note", required=False)
    with _deciding(approval_id, user=user, kind=Kind.APPROVAL_APPROVED, note=note) as (approval, entry):
        _check_decider(approval, user)
        operation = OPERATIONS[approval.operation]
        wallet = Wallet.objects.get(pk=approval.wallet_id)
        arguments = dict(approval.arguments)
        # The ledger row names its request (approved by: its created_by).
        arguments["metadata"] = {**(arguments.get("metadata") or {}), "approval_request": approval.pk}
        try:
            with transaction.atomic():
                result = operation.post(wallet, arguments, idempotency_key(approval), actor(user))
        except ServiceError as exc:
            approval.status, approval.error = ApprovalStatus.FAILED, exc.message
            entry.outcome = activity.Outcome.REFUSED
            entry.result = f"{approval.pk} failed: {exc.message}; nothing was posted"
        else:
            approval.status, approval.transaction = ApprovalStatus.APPROVED, result.transaction
            entry.result = f"{approval.pk} approved: {describe(approval)}, transaction {result.transaction.pk}"
        _close(approval, decided_by=user, note=note)
    return approval


def refuse(approval_id: str, *, user, note: str) -> ApprovalRequest:
    """Close the request without posting; the refusal's reason is required."""
    note = _note(note, field="decision_note", required=True)
    with _deciding(approval_id, user=user, kind=Kind.APPROVAL_REFUSED, note=note) as (approval, entry):
        _check_decider(approval, user)
        approval.status = ApprovalStatus.REFUSED
        _close(approval, decided_by=user, note=note)
        entry.result = f"{approval.pk} refused: {describe(approval)} will not be posted"
    return approval


def cancel(approval_id: str, *, user, note: str = "") -> ApprovalRequest:
    """The requester withdraws their own pending request; nothing posts."""
    note = _note(note, field="decision_note", required=False)
    with _deciding(approval_id, user=user, kind=Kind.APPROVAL_CANCELLED, note=note) as (approval, entry):
        if approval.requested_by_id != user.pk:
            raise PermissionDenied("Only the staff member who asked may cancel a request; refuse it instead")
        _check_pending(approval)
        approval.status = ApprovalStatus.CANCELLED
        _close(approval, decided_by=None, note=note)
        entry.result = f"{approval.pk} cancelled: {describe(approval)} will not be posted"
    return approval


def may_decide(approval: ApprovalRequest, user) -> bool:
    """Whether the page offers ``user`` the Approve and Refuse buttons (the service decides again on submit)."""
    return approval.status == ApprovalStatus.PENDING and user.pk != approval.requested_by_id and user.has_perm(APPROVE_PERMISSION)


def may_cancel(approval: ApprovalRequest, user) -> bool:
    return approval.status == ApprovalStatus.PENDING and user.pk == approval.requested_by_id


def describe(approval: ApprovalRequest) -> str:
    return (
        f"{approval.get_operation_display().lower()} of {money.format_decimal(approval.credits)} credits on {approval.wallet_id}"
    )


@contextmanager
def _deciding(approval_id: str, *, user, kind: str, note: str):
    """The decision's transaction, with the request row locked and the activity log row in it."""
    with activity.logged(staff=user.get_username(), kind=kind, target=None, note=note) as entry:
        approval = ApprovalRequest.objects.select_for_update().filter(pk=approval_id).first()
        if approval is None:
            raise NotFound(f"Approval request {approval_id} not found")
        entry.target = approval.wallet  # the activity log lists staff actions by the wallet they touch
        yield approval, entry


def _check_decider(approval: ApprovalRequest, user) -> None:
    if approval.requested_by_id == user.pk:
        raise PermissionDenied("Four eyes: you cannot approve or refuse your own request; another staff member must")
    if not user.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied("Deciding approval requests takes the approve permission (the Finance group)")
    _check_pending(approval)


def _check_pending(approval: ApprovalRequest) -> None:
    if approval.status != ApprovalStatus.PENDING:
        raise InvalidOperation(f"This request is already {approval.status}")


def _close(approval: ApprovalRequest, *, decided_by, note: str) -> None:
    approval.decided_by = decided_by
    approval.decided_at = timezone.now()
    approval.decision_note = note
    approval.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "transaction", "error"])


def _note(value, *, field: str, required: bool) -> str:
    value = inputs.check_text(value, field=field, max_length=NOTE_MAX_LENGTH, allow_blank=not required)
    return value.strip()


def _check_plain(value, *, field: str) -> None:
    """JSON that stores exactly what it was given: strings, integers, booleans, null, lists, objects; no floats."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, list):
        for item in value:
            _check_plain(item, field=field)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationFailed(f"{field} keys must be strings", field=field)
            _check_plain(item, field=f"{field}.{key}")
        return
    raise ValidationFailed(f"{field} must be plain JSON (decimals as strings), not {type(value).__name__}", field=field)
