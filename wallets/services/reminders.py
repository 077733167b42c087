"""Expiry reminders: the workers announce ``wallet.credits.expiring`` once per credit lot, the
tenant's ``credit_expiry_reminder_days`` before the lot expires.

Which lots are due, decided by one SQL statement per batch (``_REMIND_SQL``):

- completed credit lots with an expiry date after now and at most the tenant's N days away (a lot
  expiring exactly N days from now is due; one already past its expiry is not, even while the
  expiry sweep has yet to reach it). Pending lots wait until they complete; failed ones never hold
  credits. A lot created already inside the window (a grant expiring tomorrow) is due at once, so
  the next sweep announces it.
- still holding credits: its ``credits_available`` plus what open holds earmark of it. Earmarked
  credits count: they are the customer's until a capture spends them, and a released or expired
  hold gives them back to the lot, which then expires whole (wallets.services.holds). The reminder
  names that part (``held_credits``), so a consumer can tell "will expire" from "will expire unless
  the job's hold is captured". A lot wholly earmarked is announced too.
- not announced yet (no CreditExpiryReminder row).

The tenant setting: 0 turns reminders off: while it is 0 no lot of the tenant is due; turned back
on, the lots then inside the window are announced at the next sweep, and those that expired
meanwhile never are. Raising it makes the lots of the wider window due at the next sweep; lowering
it sends nothing again and withdraws nothing. A transferred
lot arrives in the other wallet as a new lot (wallets.services.transfers) and is announced there
on its own; what the source lot has left, if anything, keeps its own reminder.

Once per lot: CreditExpiryReminder's primary key is the lot. A batch inserts its reminder rows
with ON CONFLICT DO NOTHING and publishes the events (the outbox, webhooks.services) of the rows
it inserted, and only those, in the same transaction: no event without its committed row, and
never a second event for a lot. A sweep racing another reads the same lots as due, waits at the
insert for the other's transaction, then skips the rows the other committed. The event goes to
the endpoints subscribed at that moment; with none, the row alone records that the lot's turn has
passed (an endpoint added later gets no late reminder). No wallet lock: a reminder moves no
credits and must not queue behind postings; the credits it reports are as the batch's statement
read them.

Each sweep walks the due window once, in expiry order (a keyset cursor), in transactions of
``CREDIT_EXPIRY_REMINDER_BATCH_SIZE`` lots; a lot created behind the cursor meanwhile is the next
sweep's.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from tenancy.models import Tenant
from wallets.models import CreditExpiryReminder, HoldEarmark, WalletTransaction
from wallets.services import events

# The lots a tenant's window makes due (see the module's docstring), after the cursor, soonest
# first; inserted as reminders where no reminder exists yet. The first branch (lots with spendable
# credits) has the condition of the expiring-lots index (wtxn_expiring_lots_idx), the second (lots
# open holds earmark wholly) starts from the open-earmarks index, so a large ledger is not scanned.
# ``inserted`` says which reminders this statement wrote.
_REMIND_SQL = """
WITH due AS (
    SELECT lot.id AS lot_id, lot.tenant_id, lot.environment_id, lot.wallet_id, lot.customer_id, lot.expiry_date,
           lot.credits_available + held.credits AS credits, held.credits AS held_credits,
           tenant.credit_expiry_reminder_days AS reminder_days
    FROM (
        SELECT id, tenant_id, environment_id, wallet_id, customer_id, expiry_date, credits_available
        FROM {lots} WHERE type = 'credit' AND transaction_status = 'completed' AND credits_available > 0
            AND expiry_date IS NOT NULL
        UNION ALL
        SELECT id, tenant_id, environment_id, wallet_id, customer_id, expiry_date, credits_available
        FROM {lots} WHERE type = 'credit' AND transaction_status = 'completed' AND credits_available = 0
            AND id IN (SELECT lot_id FROM {earmarks} WHERE credits > 0)
    ) lot
    JOIN {tenants} tenant ON tenant.id = lot.tenant_id
    CROSS JOIN LATERAL (
        SELECT COALESCE(SUM(credits), 0) AS credits FROM {earmarks} WHERE lot_id = lot.id AND credits > 0
    ) held
    WHERE lot.expiry_date > %(now)s AND lot.expiry_date <= %(horizon)s
        AND (lot.expiry_date, lot.id) > (%(after_expiry)s, %(after_id)s)
        AND lot.expiry_date <= %(now)s + tenant.credit_expiry_reminder_days * INTERVAL '1 day'
        AND NOT EXISTS (SELECT 1 FROM {reminders} reminder WHERE reminder.lot_id = lot.id)
    ORDER BY lot.expiry_date, lot.id
    LIMIT %(limit)s
), inserted AS (
    INSERT INTO {reminders}
        (lot_id, tenant_id, environment_id, wallet_id, customer_id, expiry_date, credits, held_credits, reminder_days, created_at)
    SELECT lot_id, tenant_id, environment_id, wallet_id, customer_id, expiry_date, credits, held_credits, reminder_days, %(now)s
    FROM due
    ON CONFLICT (lot_id) DO NOTHING
    RETURNING lot_id
)
SELECT due.lot_id, due.tenant_id, due.environment_id, due.wallet_id, due.customer_id, due.expiry_date,
       due.credits, due.held_credits, due.reminder_days, inserted.lot_id IS NOT NULL
FROM due LEFT JOIN inserted ON inserted.lot_id = due.lot_id
ORDER BY due.expiry_date, due.lot_id
"""


# The reminder's columns, in the order the statement's last SELECT returns them (then "inserted").
_COLUMNS = [
    "lot_id",
    "tenant_id",
    "environment_id",
    "wallet_id",
    "customer_id",
    "expiry_date",
    "credits",
    "held_credits",
    "reminder_days",
]


def _statement() -> str:
    quote = connection.ops.quote_name
    return _REMIND_SQL.format(
        lots=quote(WalletTransaction._meta.db_table),
        earmarks=quote(HoldEarmark._meta.db_table),
        tenants=quote(Tenant._meta.db_table),
        reminders=quote(CreditExpiryReminder._meta.db_table),
    )


@dataclass
class ReminderSweepResult:
    reminded: int = 0  # lots this sweep announced
    skipped: int = 0  # due lots a racing sweep announced first
    batches: int = 0


def credit_expiry_reminders_sweep(*, now: datetime | None = None, batch_size: int | None = None) -> ReminderSweepResult:
    """Announce ``wallet.credits.expiring`` for every lot due a reminder (see the module's docstring)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.CREDIT_EXPIRY_REMINDER_BATCH_SIZE
    result = ReminderSweepResult()
    widest = Tenant.objects.aggregate(days=Max("credit_expiry_reminder_days"))["days"]
    if not widest:
        return result  # no tenant, or reminders off for every tenant
    cursor = (now, "")
    while True:
        with transaction.atomic():
            rows = _remind_batch(now=now, horizon=now + timedelta(days=widest), after=cursor, limit=batch_size)
        result.batches += 1
        result.reminded += sum(inserted for _, inserted in rows)
        result.skipped += sum(not inserted for _, inserted in rows)
        if len(rows) < batch_size:
            return result
        last = rows[-1][0]
        cursor = (last.expiry_date, last.lot_id)


def _remind_batch(*, now: datetime, horizon: datetime, after: tuple, limit: int) -> list[tuple[CreditExpiryReminder, bool]]:
    """Insert up to ``limit`` due reminders after ``after`` and publish their events; each due lot
    read, as (reminder, whether this batch inserted it). Runs inside the caller's transaction."""
    params = {"now": now, "horizon": horizon, "after_expiry": after[0], "after_id": after[1], "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        rows = [
            (CreditExpiryReminder(**dict(zip(_COLUMNS, values, strict=True)), created_at=now), inserted)
            for *values, inserted in cursor.fetchall()
        ]
    # The once-guard: only the rows this statement inserted are announced. The test-only switch
    # announces every lot read as due, which a racing sweep has read too (tests prove it duplicates).
    unsafe = settings.REMINDERS_UNSAFE_SKIP_ONCE_GUARD
    events.publish_credits_expiring([reminder for reminder, inserted in rows if inserted or unsafe], now=now)
    return rows
