"""Ledger guards in PostgreSQL's own SQL, which Django's model constraints cannot express.

- the consumption-order index (NULLS LAST, partial);
- wallet: ``balance = round(credit_balance × conversion_rate, 9)`` (PostgreSQL rounds numerics
  half away from zero, as wallets.money does);
- ledger row: a completed credit adds exactly its credits, a completed debit takes them;
- ledger rows and allocations are append-only: no DELETE, and an UPDATE may only lower
  ``credits_available`` or complete a pending row (status, sequence, before/after balances).
"""

from django.db import migrations

LEDGER_COLUMNS_FIXED_FOREVER = (
    "id, tenant_id, environment_id, wallet_id, customer_id, type, transaction_reason, credit_amount, amount, "
    "expiry_date, priority, currency, conversion_rate, topup_conversion_rate, reference_type, reference_id, "
    "description, metadata, idempotency_key, request_fingerprint, parent_transaction_id, created_at, created_by"
)


def _row(prefix: str) -> str:
    return "(" + ", ".join(f"{prefix}.{column.strip()}" for column in LEDGER_COLUMNS_FIXED_FOREVER.split(",")) + ")"


FORWARD = f"""
-- Consumption: a debit walks the wallet's open lots in exactly this order (wallets.ledger.open_lots).
CREATE INDEX wtxn_open_lots_idx ON wallets_wallettransaction
    (wallet_id, priority ASC NULLS LAST, expiry_date ASC NULLS LAST, credit_amount DESC, created_at, id)
    WHERE type = 'credit' AND transaction_status = 'completed' AND credits_available > 0;

ALTER TABLE wallets_wallet ADD CONSTRAINT wallet_balance_is_credits_times_rate
    CHECK (balance = round(credit_balance * conversion_rate, 9));

ALTER TABLE wallets_wallettransaction ADD CONSTRAINT wallet_transaction_balance_chain
    CHECK (transaction_status <> 'completed'
           OR (type = 'credit' AND credit_balance_after = credit_balance_before + credit_amount)
           OR (type = 'debit' AND credit_balance_after = credit_balance_before - credit_amount));

CREATE FUNCTION wallets_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger row % is append-only and cannot be deleted', OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    IF {_row("NEW")} IS DISTINCT FROM {_row("OLD")} THEN
        RAISE EXCEPTION 'ledger row % is append-only: only credits_available and a pending status may change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.transaction_status = 'pending' THEN
        RETURN NEW;  -- completing or failing a pending credit assigns its balances and sequence
    END IF;
    IF NEW.transaction_status <> OLD.transaction_status
       OR NEW.sequence IS DISTINCT FROM OLD.sequence
       OR NEW.credit_balance_before <> OLD.credit_balance_before
       OR NEW.credit_balance_after <> OLD.credit_balance_after
       OR NEW.credits_available > OLD.credits_available THEN
        RAISE EXCEPTION 'ledger row % is settled: its balances are fixed and its credits can only go down', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER wallets_ledger_append_only
    BEFORE UPDATE OR DELETE ON wallets_wallettransaction
    FOR EACH ROW EXECUTE FUNCTION wallets_ledger_append_only();

CREATE FUNCTION wallets_allocation_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit allocations are append-only' USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER wallets_allocation_immutable
    BEFORE UPDATE OR DELETE ON wallets_creditallocation
    FOR EACH ROW EXECUTE FUNCTION wallets_allocation_immutable();
"""

BACKWARD = """
DROP INDEX IF EXISTS wtxn_open_lots_idx;
DROP TRIGGER IF EXISTS wallets_allocation_immutable ON wallets_creditallocation;
DROP FUNCTION IF EXISTS wallets_allocation_immutable();
DROP TRIGGER IF EXISTS wallets_ledger_append_only ON wallets_wallettransaction;
DROP FUNCTION IF EXISTS wallets_ledger_append_only();
ALTER TABLE wallets_wallettransaction DROP CONSTRAINT IF EXISTS wallet_transaction_balance_chain;
ALTER TABLE wallets_wallet DROP CONSTRAINT IF EXISTS wallet_balance_is_credits_times_rate;
"""


def _execute(sql: str):
    def run(apps, schema_editor):
        # No parameters: plpgsql's RAISE uses % placeholders of its own.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]

    operations = [migrations.RunPython(_execute(FORWARD), _execute(BACKWARD))]
