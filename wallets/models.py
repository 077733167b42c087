"""Wallets and their ledger.

- ``Wallet`` caches the balance; only ``wallets.ledger.postings`` writes it, under the wallet's row lock.
- ``WalletTransaction`` is the append-only ledger: one row per credit or debit. Only
  ``credits_available`` and a pending row's status (with its before/after balances) ever change.
- ``CreditAllocation`` records which credit lot paid for which debit, and how much.
- ``WalletStatusChange`` is the freeze/unfreeze/terminate history: who, when, why.
- ``AlertLog`` records each change of a wallet's alert state.
- ``WalletTransfer`` ties a transfer's debit on one wallet to its credits on another.
- ``WalletHold`` reserves credits for an in-flight job; ``HoldEarmark`` records which lot gave
  how much to it (wallets.services.holds explains the accounting).
- ``CreditExpiryReminder`` records that a lot's ``wallet.credits.expiring`` went out
  (wallets.services.reminders); its primary key is the lot, so a lot is reminded once.

The constraints below are the database's half of the ledger invariants; PostgreSQL-only ones
(the balance-value identity and the append-only trigger) are in migration 0002.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.ids import prefixed_id_field
from customers.models import Customer
from tenancy.models import Environment, Tenant
from wallets.ledger.money import ZERO, credits_field, rate_field


class Wallet(models.Model):
    class Type(models.TextChoices):
        PRE_PAID = "PRE_PAID"
        POST_PAID = "POST_PAID"
        PROMOTIONAL = "PROMOTIONAL"

    class Status(models.TextChoices):
        ACTIVE = "active"
        FROZEN = "frozen"
        CLOSED = "closed"

    class AlertState(models.TextChoices):
        OK = "ok"
        INFO = "info"
        WARNING = "warning"
        IN_ALARM = "in_alarm"

    class CooldownUnit(models.TextChoices):
        SECOND = "second"
        MINUTE = "minute"
        HOUR = "hour"
        DAY = "day"

    id = prefixed_id_field("wallet")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="wallets")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="wallets")
    currency = models.CharField(max_length=3)
    name = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    wallet_type = models.CharField(max_length=20, choices=Type, default=Type.PRE_PAID)
    wallet_status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)
    # Credits held; negative only after a MANUAL_BALANCE_DEBIT overdraft.
    credit_balance = credits_field()
    # Currency value of credit_balance: always round(credit_balance × conversion_rate, 9).
    balance = credits_field()
    # Credits still held by completed PURCHASED_* credits, expired or not; wallets.ledger.postings keeps it
    # with the balance. The balance breakdown reads it instead of summing every open lot: the
    # free part is max(credit_balance, 0) minus this (wallets.selectors.credits_breakdown).
    purchased_credits_available = credits_field()
    # Credits reserved by open holds (WalletHold, status held): still part of credit_balance (and of
    # purchased_credits_available when a purchased lot gave them), but out of every lot's
    # credits_available, so no debit can spend them. Never above credit_balance.
    held_credits = credits_field()
    conversion_rate = rate_field()
    topup_conversion_rate = rate_field()
    config = models.JSONField(default=dict, blank=True)
    auto_topup_enabled = models.BooleanField(default=False)
    auto_topup_threshold = credits_field(null=True, blank=True, default=None)
    auto_topup_amount = credits_field(null=True, blank=True, default=None)
    auto_topup_invoicing = models.BooleanField(default=False)
    auto_topup_cooldown_value = models.PositiveIntegerField(null=True, blank=True)
    auto_topup_cooldown_unit = models.CharField(max_length=10, choices=CooldownUnit, blank=True)
    alert_settings = models.JSONField(null=True, blank=True)
    alert_state = models.CharField(max_length=20, choices=AlertState, default=AlertState.OK)
    frozen_until = models.DateTimeField(null=True, blank=True)
    # Number of ledger rows written so far; the next row gets sequence = this + 1.
    transaction_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, default="published", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=100, blank=True)
    updated_by = models.CharField(max_length=100, blank=True)

    class Meta:
        # One permission per support action in the admin (wallets.admin.wallet); the "Support" and
        # "Finance" groups that hold them are created by migration 0004.
        permissions = [
            ("top_up_wallet", "Can top up wallets (up to SUPPORT_TOP_UP_LIMIT credits each)"),
            ("top_up_wallet_unlimited", "Can top up wallets above SUPPORT_TOP_UP_LIMIT"),
            ("debit_wallet", "Can debit wallets manually"),
            ("freeze_wallet", "Can freeze wallets"),
            ("unfreeze_wallet", "Can unfreeze wallets"),
            ("terminate_wallet", "Can terminate wallets"),
            ("export_transactions", "Can export wallet transactions as CSV"),
            ("release_hold", "Can release a wallet's open holds"),
        ]
        constraints = [
            # A frozen wallet keeps its place, so freezing cannot be sidestepped by opening a twin.
            models.UniqueConstraint(
                fields=["environment", "customer", "currency", "wallet_type"],
                condition=~Q(wallet_status="closed"),
                name="wallet_one_open_per_customer_currency_type",
            ),
            models.CheckConstraint(condition=Q(conversion_rate__gt=0), name="wallet_conversion_rate_positive"),
            models.CheckConstraint(condition=Q(purchased_credits_available__gte=0), name="wallet_purchased_credits_not_negative"),
            models.CheckConstraint(condition=Q(topup_conversion_rate__gt=0), name="wallet_topup_conversion_rate_positive"),
            models.CheckConstraint(
                condition=Q(held_credits=0) | Q(held_credits__gt=0, held_credits__lte=F("credit_balance")),
                name="wallet_held_credits_within_balance",
            ),
            models.CheckConstraint(condition=Q(wallet_status__in=["active", "frozen", "closed"]), name="wallet_status_valid"),
            models.CheckConstraint(
                condition=Q(wallet_type__in=["PRE_PAID", "POST_PAID", "PROMOTIONAL"]), name="wallet_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(alert_state__in=["ok", "info", "warning", "in_alarm"]), name="wallet_alert_state_valid"
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="wallet_currency_lowercase_iso"),
            models.CheckConstraint(
                condition=Q(auto_topup_enabled=False) | Q(auto_topup_threshold__isnull=False, auto_topup_amount__gt=0),
                name="wallet_auto_topup_complete_when_enabled",
            ),
        ]
        indexes = [
            models.Index(fields=["environment", "customer", "wallet_status"], name="wallet_env_customer_idx"),
            models.Index(fields=["environment", "wallet_status", "-created_at"], name="wallet_env_status_idx"),
            models.Index(
                fields=["frozen_until"],
                condition=Q(wallet_status="frozen", frozen_until__isnull=False),
                name="wallet_frozen_until_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.id} ({self.currency.upper()})"

    @property
    def is_active(self) -> bool:
        return self.wallet_status == self.Status.ACTIVE


class TransactionReason(models.TextChoices):
    INVOICE_PAYMENT = "INVOICE_PAYMENT"
    FREE_CREDIT_GRANT = "FREE_CREDIT_GRANT"
    SUBSCRIPTION_CREDIT_GRANT = "SUBSCRIPTION_CREDIT_GRANT"
    PURCHASED_CREDIT_INVOICED = "PURCHASED_CREDIT_INVOICED"
    PURCHASED_CREDIT_DIRECT = "PURCHASED_CREDIT_DIRECT"
    PURCHASED_CREDIT_BONUS = "PURCHASED_CREDIT_BONUS"
    CREDIT_NOTE = "CREDIT_NOTE"
    CREDIT_EXPIRED = "CREDIT_EXPIRED"
    WALLET_TERMINATION = "WALLET_TERMINATION"
    MANUAL_BALANCE_DEBIT = "MANUAL_BALANCE_DEBIT"
    CREDIT_ADJUSTMENT = "CREDIT_ADJUSTMENT"
    INVOICE_VOID_REFUND = "INVOICE_VOID_REFUND"
    # Our own, beyond upstream's list (the SDK reads transaction_reason as an open enum in responses):
    HOLD_CAPTURE = "HOLD_CAPTURE"  # debit: the captured part of a hold
    TRANSFER_OUT = "TRANSFER_OUT"  # debit: credits moved to another wallet of the customer
    TRANSFER_IN = "TRANSFER_IN"  # credit: one moved lot, arriving with its expiry and priority
    # credit: the same, for a lot that was paid for, so the balance breakdown still counts it as
    # purchased in its new wallet (wallets.ledger.postings.PURCHASED_REASONS; wallets.ledger.transfers)
    TRANSFER_IN_PURCHASED = "TRANSFER_IN_PURCHASED"
    CREDIT_VOID = "CREDIT_VOID"  # debit: the unconsumed remainder of a lot, voided
    CREDIT_REFUND = "CREDIT_REFUND"  # debit: a paid lot's remainder, refunded against its invoice


class WalletTransaction(models.Model):
    class Type(models.TextChoices):
        CREDIT = "credit"
        DEBIT = "debit"

    class Status(models.TextChoices):
        PENDING = "pending"
        COMPLETED = "completed"
        FAILED = "failed"

    Reason = TransactionReason

    class ReferenceType(models.TextChoices):
        PAYMENT = "PAYMENT"
        EXTERNAL = "EXTERNAL"
        REQUEST = "REQUEST"
        INVOICE = "INVOICE"
        TRANSFER = "TRANSFER"  # reference_id is the WalletTransfer's id

    id = prefixed_id_field("wtxn")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transactions")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    # 1, 2, 3... per wallet, in the order rows took effect, so the completed ledger replays as
    # one unbroken chain. A pending credit gets its number when it completes.
    sequence = models.PositiveIntegerField(null=True, blank=True)
    type = models.CharField(max_length=10, choices=Type)
    transaction_reason = models.CharField(max_length=40, choices=Reason)
    transaction_status = models.CharField(max_length=20, choices=Status, default=Status.COMPLETED)
    credit_amount = credits_field()
    amount = credits_field()
    credit_balance_before = credits_field()
    credit_balance_after = credits_field()
    # On a credit: the part of this lot not yet consumed, expired or used to repay an overdraft.
    credits_available = credits_field()
    expiry_date = models.DateTimeField(null=True, blank=True)
    priority = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    conversion_rate = rate_field(null=True, blank=True)
    topup_conversion_rate = rate_field(null=True, blank=True)
    reference_type = models.CharField(max_length=20, blank=True)
    reference_id = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001  NULL = no key; the unique index allows many
    # SHA-256 of the operation and its parameters: a replay must match it, or it is a conflict.
    request_fingerprint = models.CharField(max_length=64, blank=True)
    parent_transaction = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    status = models.CharField(max_length=20, default="published", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=100, blank=True)
    updated_by = models.CharField(max_length=100, blank=True)

    class Meta:
        # Staff actions on one credit lot (wallets.admin): granted by migration 0012 to Support and
        # Finance (void) and to Finance alone (refund, which issues a credit note against an invoice).
        permissions = [
            ("void_credits", "Can void the remaining credits of a lot"),
            ("refund_credits", "Can refund the remaining credits of a paid purchased lot"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "sequence"], name="wallet_transaction_unique_sequence"),
            models.UniqueConstraint(
                fields=["environment", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="wallet_transaction_unique_idempotency_key",
            ),
            models.CheckConstraint(condition=Q(credit_amount__gt=0), name="wallet_transaction_credit_amount_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="wallet_transaction_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(credits_available__gte=0, credits_available__lte=F("credit_amount")),
                name="wallet_transaction_credits_available_within_lot",
            ),
            models.CheckConstraint(
                condition=Q(type="credit") | Q(credits_available=0), name="wallet_transaction_debit_holds_no_credits"
            ),
            models.CheckConstraint(
                condition=Q(transaction_status="completed") | Q(credits_available=0),
                name="wallet_transaction_only_completed_rows_hold_credits",
            ),
            models.CheckConstraint(condition=Q(type__in=["credit", "debit"]), name="wallet_transaction_type_valid"),
            models.CheckConstraint(
                condition=Q(transaction_status__in=["pending", "completed", "failed"]),
                name="wallet_transaction_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(transaction_reason__in=TransactionReason.values),
                name="wallet_transaction_reason_valid",
            ),
        ]
        indexes = [
            # The consumption-order index (NULLS LAST, partial) is created in migration 0002's SQL.
            # A debit first expires its own wallet's lots that are past due.
            models.Index(
                fields=["wallet", "expiry_date"],
                condition=Q(type="credit", transaction_status="completed", credits_available__gt=0, expiry_date__isnull=False),
                name="wtxn_wallet_expiring_lots_idx",
            ),
            # Expiry sweep: lots past their expiry that still hold credits, across all wallets.
            models.Index(
                fields=["expiry_date"],
                condition=Q(type="credit", transaction_status="completed", credits_available__gt=0, expiry_date__isnull=False),
                name="wtxn_expiring_lots_idx",
            ),
            # Transaction search: by wallet, by customer, or the whole environment, newest first.
            # A wallet's rows lie on as many heap pages as it has rows (written over months), so the
            # wallet-scoped searches are served by indexes that leave the heap for the rows of the
            # page only: the environment is included (counting a wallet's rows reads the index
            # alone), and the two narrowing filters have indexes that hold only their rows.
            # benchmarks/RESULTS.md (B4) shows the plans before and after.
            models.Index(fields=["wallet", "-created_at", "-id"], include=["environment"], name="wtxn_wallet_created_idx"),
            models.Index(
                fields=["wallet", "expiry_date"],
                include=["environment"],
                condition=Q(expiry_date__isnull=False),
                name="wtxn_wallet_expiry_idx",
            ),
            models.Index(
                fields=["wallet", "-created_at", "-id"],
                include=["environment"],
                condition=Q(credits_available__gt=0),
                name="wtxn_wallet_available_idx",
            ),
            models.Index(fields=["environment", "customer", "-created_at"], name="wtxn_env_customer_created_idx"),
            models.Index(fields=["environment", "-created_at"], name="wtxn_env_created_idx"),
            models.Index(fields=["environment", "reference_type", "reference_id"], name="wtxn_env_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type} {self.credit_amount}"


class CreditAllocation(models.Model):
    """``credits`` of credit lot ``credit`` went to debit ``debit``.

    Written for every consumption and every expiry, and when a credit repays an earlier
    overdraft. So each lot's ``credit_amount = credits_available + Σ allocations``, and each
    debit's allocations sum to its amount once any overdraft is repaid.
    """

    debit = models.ForeignKey(WalletTransaction, on_delete=models.PROTECT, related_name="allocations_paid")
    credit = models.ForeignKey(WalletTransaction, on_delete=models.PROTECT, related_name="allocations_given")
    credits = credits_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["debit", "credit"], name="credit_allocation_unique_pair"),
            models.CheckConstraint(condition=Q(credits__gt=ZERO), name="credit_allocation_positive"),
        ]


class WalletStatusChange(models.Model):
    """One freeze, unfreeze or termination: the history support staff read on the wallet page."""

    class Action(models.TextChoices):
        FREEZE = "freeze"
        UNFREEZE = "unfreeze"
        TERMINATE = "terminate"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="status_changes")
    action = models.CharField(max_length=20, choices=Action)
    reason = models.TextField()
    until = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["freeze", "unfreeze", "terminate"]), name="wallet_status_change_action_valid"
            ),
        ]


class AlertLog(models.Model):
    """One change of a wallet's alert state, written in the transaction that caused it."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="alert_logs")
    previous_state = models.CharField(max_length=20, choices=Wallet.AlertState)
    state = models.CharField(max_length=20, choices=Wallet.AlertState)
    credit_balance = credits_field()
    transaction = models.ForeignKey(WalletTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="alert_logs")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "alert state change"
        verbose_name_plural = "alert state changes"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["wallet", "-created_at"], name="alert_log_wallet_created_idx")]


class WalletTransfer(models.Model):
    """Credits moved from one wallet of a customer to another of the same currency (issue 14).

    One TRANSFER_OUT debit on ``from_wallet`` (``debit``) and, on ``to_wallet``, one TRANSFER_IN
    (or TRANSFER_IN_PURCHASED) credit per lot the debit consumed, with that lot's credits, expiry
    and priority. The rows point at each other and at this record: all carry reference_type
    TRANSFER and reference_id = this id; each credit's parent_transaction is the debit and its
    metadata names the lot it came from (``source_credit_tx_id``); the debit's metadata lists the
    credits (``transfer_credit_tx_ids``). wallets.ledger.integrity checks every link.
    The idempotency key is the debit's. Written only by wallets.services.transfers.
    """

    id = prefixed_id_field("xfer")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    from_wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transfers_out")
    to_wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="transfers_in")
    credits = credits_field()
    debit = models.OneToOneField(WalletTransaction, on_delete=models.PROTECT, related_name="transfer")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.CharField(max_length=100, blank=True)

    class Meta:
        # Granted to the "Finance" group by migration 0011: a transfer debits a wallet, and only
        # Finance may debit (migration 0004).
        permissions = [("transfer_credits", "Can transfer credits between wallets of a customer")]
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="wallet_transfer_credits_positive"),
            models.CheckConstraint(condition=~Q(from_wallet=F("to_wallet")), name="wallet_transfer_two_wallets"),
        ]
        indexes = [models.Index(fields=["environment", "-created_at"], name="wxfer_env_created_idx")]

    def __str__(self) -> str:
        return f"{self.id} {self.credits} {self.from_wallet_id} -> {self.to_wallet_id}"


class WalletHold(models.Model):
    """Credits reserved on a wallet until they are captured (debited), released or expire.

    wallets.services.holds writes these; the reserved credits sit in the HoldEarmark rows.
    """

    class Status(models.TextChoices):
        HELD = "held"
        CAPTURED = "captured"
        RELEASED = "released"
        EXPIRED = "expired"

    id = prefixed_id_field("hold")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="holds")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    credits = credits_field()
    captured_credits = credits_field()
    hold_status = models.CharField(max_length=20, choices=Status, default=Status.HELD)
    expires_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    # The capture's idempotency key and fingerprint, or the release's: what closed the hold.
    close_idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001  NULL = open or expired
    close_fingerprint = models.CharField(max_length=64, blank=True)
    capture_transaction = models.OneToOneField(
        WalletTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="captured_hold"
    )
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=100, blank=True)
    updated_by = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "idempotency_key"], name="wallet_hold_unique_idempotency_key"),
            models.UniqueConstraint(
                fields=["environment", "close_idempotency_key"],
                condition=Q(close_idempotency_key__isnull=False),
                name="wallet_hold_unique_close_idempotency_key",
            ),
            models.CheckConstraint(condition=Q(credits__gt=0), name="wallet_hold_credits_positive"),
            models.CheckConstraint(
                condition=Q(captured_credits__gte=0, captured_credits__lte=F("credits")),
                name="wallet_hold_captured_within_credits",
            ),
            models.CheckConstraint(
                condition=Q(hold_status__in=["held", "captured", "released", "expired"]), name="wallet_hold_status_valid"
            ),
            # Only a capture takes credits, and it always writes its ledger row.
            models.CheckConstraint(
                condition=(Q(hold_status="captured", captured_credits__gt=0, capture_transaction__isnull=False))
                | (~Q(hold_status="captured") & Q(captured_credits=0, capture_transaction__isnull=True)),
                name="wallet_hold_capture_has_its_row",
            ),
            models.CheckConstraint(
                condition=(Q(hold_status="held", closed_at__isnull=True, close_idempotency_key__isnull=True))
                | (~Q(hold_status="held") & Q(closed_at__isnull=False)),
                name="wallet_hold_closed_when_not_held",
            ),
        ]
        indexes = [
            models.Index(fields=["wallet", "-created_at", "-id"], name="wallet_hold_wallet_created_idx"),
            # The expiry sweep: open holds past their expiry, across all wallets.
            models.Index(fields=["expires_at"], condition=Q(hold_status="held"), name="wallet_hold_open_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.hold_status} {self.credits}"


class HoldEarmark(models.Model):
    """``earmarked`` credits of lot ``lot`` reserved for ``hold``; ``credits`` of them still reserved.

    ``credits`` drops to zero when the hold closes (captured or returned to the lot); the row stays
    as the record of what was reserved. Per lot: credit_amount = credits_available + Σ its
    allocations + Σ its earmarks' credits (invariant I5, wallets.ledger.integrity).
    """

    hold = models.ForeignKey(WalletHold, on_delete=models.PROTECT, related_name="earmarks")
    lot = models.ForeignKey(WalletTransaction, on_delete=models.PROTECT, related_name="earmarks")
    # Position in the consumption order at the time of the hold: a capture draws in this order.
    position = models.PositiveIntegerField()
    earmarked = credits_field()
    credits = credits_field()

    class Meta:
        ordering = ["hold", "position"]
        constraints = [
            models.UniqueConstraint(fields=["hold", "lot"], name="hold_earmark_unique_lot"),
            models.UniqueConstraint(fields=["hold", "position"], name="hold_earmark_unique_position"),
            models.CheckConstraint(condition=Q(earmarked__gt=0), name="hold_earmark_earmarked_positive"),
            models.CheckConstraint(
                condition=Q(credits__gte=0, credits__lte=F("earmarked")), name="hold_earmark_credits_within_earmarked"
            ),
        ]
        indexes = [
            # "Does this lot hold an open earmark?" (the expiry sweep skips such lots).
            models.Index(fields=["lot"], condition=Q(credits__gt=0), name="hold_earmark_open_lot_idx"),
        ]


class CreditExpiryReminder(models.Model):
    """The workers announced that ``lot`` expires soon (``wallet.credits.expiring``), once per lot.

    The primary key is the lot: the database, not the sweep's read, makes "once" hold when two
    sweeps race (wallets.services.reminders inserts with ON CONFLICT DO NOTHING and announces only
    the rows it inserted). The other columns are what the reminder said, as of the sweep: the
    credits the lot still held (``credits``, of which ``held_credits`` were earmarked by open holds)
    and the tenant's ``credit_expiry_reminder_days`` then. A lot's expiry never changes (the ledger
    is append-only), so one reminder stays true. Written only by wallets.services.reminders.
    """

    lot = models.OneToOneField(WalletTransaction, on_delete=models.PROTECT, primary_key=True, related_name="expiry_reminder")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="expiry_reminders")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    expiry_date = models.DateTimeField()
    credits = credits_field()
    held_credits = credits_field()
    reminder_days = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(credits__gt=0), name="expiry_reminder_credits_positive"),
            models.CheckConstraint(
                condition=Q(held_credits__gte=0, held_credits__lte=F("credits")), name="expiry_reminder_held_within_credits"
            ),
            models.CheckConstraint(condition=Q(reminder_days__gt=0), name="expiry_reminder_days_positive"),
            # Sent before the expiry, never after it.
            models.CheckConstraint(condition=Q(created_at__lt=F("expiry_date")), name="expiry_reminder_before_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.lot_id} expiring {self.expiry_date:%Y-%m-%d %H:%M}"
