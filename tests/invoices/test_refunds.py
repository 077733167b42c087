"""Refunding a paid purchased lot (wallets.services.voids.credit_refund): a CREDIT_REFUND of what is
left, and a credit note against its invoice for the invoice's price of those credits, exactly.

Every test ends with the whole ledger checked (tests/conftest.py), credit notes included
(invoices.integrity): the refund has its one note, at the invoice's price, within its total.
"""

from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from core.exceptions import AlreadyExists, InvalidOperation
from invoices.models import CreditNote, Invoice
from invoices.services import credit_note_issue, invoice_pay
from tests.wallets.services import conftest as service_fixtures
from wallets import services
from wallets.models import CreditAllocation
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db

D = Decimal
snapshot = service_fixtures.snapshot  # what a refusal must leave untouched


@pytest.fixture
def refund(environment):
    def run(lot, key="refund-1", reason="customer asked", **fields):
        return services.credit_refund(
            environment_id=environment.id, transaction_id=lot.id, reason=reason, idempotency_key=key, **fields
        )

    return run


def _paid_purchase(wallet, **amounts):
    """A PURCHASED_CREDIT_INVOICED lot whose invoice is paid: (lot, invoice)."""
    result = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", **amounts)
    invoice = Invoice.objects.get(pk=result.invoice_id)
    invoice_pay(invoice)
    result.transaction.refresh_from_db()
    invoice.refresh_from_db()
    return result.transaction, invoice


def _spend(wallet, credits, key="spend"):
    return services.wallet_debit(wallet, credits=D(credits), idempotency_key=key, reason="INVOICE_PAYMENT").transaction


def test_refund_of_an_untouched_lot_gives_back_exactly_what_the_invoice_was_paid(make_wallet, refund):
    """Bought for 10 at rate 3: the lot is 3.333333333 credits and the invoice 9.999999999, not 10."""
    wallet = make_wallet(topup_conversion_rate=D("3"))
    lot, invoice = _paid_purchase(wallet, amount=D("10"))
    assert (lot.credit_amount, lot.amount, invoice.amount_paid) == (D("3.333333333"), D("10"), D("9.999999999"))
    result = refund(lot, actor="key_9")
    row, note = result.transaction, result.credit_note
    assert (row.transaction_reason, row.credit_amount, row.parent_transaction_id) == ("CREDIT_REFUND", lot.credit_amount, lot.id)
    assert (row.reference_type, row.reference_id) == ("INVOICE", invoice.id)
    assert dict(CreditAllocation.objects.filter(debit=row).values_list("credit_id", "credits")) == {lot.id: lot.credit_amount}
    assert note.id.startswith("cn_")
    assert (note.invoice_id, note.wallet_transaction_id, note.credits, note.amount, note.currency) == (
        invoice.id, row.id, D("3.333333333"), D("9.999999999"), "usd",
    )  # fmt: skip
    assert (note.reason, note.created_by) == ("customer asked", "key_9")
    assert result.wallet.credit_balance == 0 and result.wallet.purchased_credits_available == 0


def test_partial_refund_at_an_awkward_rate_is_the_invoices_price_of_the_remainder(make_wallet, refund):
    """1.00 bought at 0.07: 14.285714286 credits for 1.000000000; 5 spent, 9.285714286 left.

    1 × 9.285714286 / 14.285714286 = 0.650000000006999…, so the note is 0.650000000."""
    wallet = make_wallet(topup_conversion_rate=D("0.07"))
    lot, invoice = _paid_purchase(wallet, amount=D("1"))
    assert (lot.credit_amount, invoice.amount_paid) == (D("14.285714286"), D("1"))
    _spend(wallet, "5")
    note = refund(lot).credit_note
    assert (note.credits, note.amount) == (D("9.285714286"), D("0.650000000"))


def test_refund_of_a_partly_spent_lot_at_a_five_place_rate(make_wallet, refund):
    wallet = make_wallet(topup_conversion_rate=D("1.23457"))
    lot, invoice = _paid_purchase(wallet, credits=D("7"))
    assert invoice.amount_paid == D("8.64199")
    _spend(wallet, "2.5")
    note = refund(lot).credit_note
    # 8.64199 × 4.5 / 7 = 5.555565 exactly.
    assert (note.credits, note.amount) == (D("4.5"), D("5.555565"))
    assert list(invoice.credit_notes.values_list("id", flat=True)) == [note.id]


def test_an_unpaid_invoice_is_refused(wallet, refund, snapshot):
    result = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("10"))
    before = snapshot()
    with pytest.raises(InvalidOperation, match="invoice is not paid") as refused:
        refund(result.transaction)
    assert refused.value.details["invoice_id"] == result.invoice_id
    assert snapshot() == before and not CreditNote.objects.exists()


def test_a_direct_purchase_is_refused_pointing_at_the_void(wallet, credit, refund, snapshot):
    lot = credit("10", reason="PURCHASED_CREDIT_DIRECT")
    before = snapshot()
    with pytest.raises(InvalidOperation, match="direct purchase has no invoice to credit; void the remaining credits"):
        refund(lot)
    assert snapshot() == before


def test_free_credits_are_refused(credit, refund):
    with pytest.raises(InvalidOperation, match="Only credits purchased on invoice can be refunded"):
        refund(credit("10"))


def test_a_remainder_worth_less_than_the_smallest_amount_is_refused(make_wallet, refund, snapshot):
    wallet = make_wallet(topup_conversion_rate=D("0.00001"))
    lot, _ = _paid_purchase(wallet, credits=D("1"))
    _spend(wallet, "0.999999999")
    before = snapshot()
    with pytest.raises(InvalidOperation, match=r"worth less than 0\.000000001 usd"):
        refund(lot)
    assert snapshot() == before
    # ... and the void takes it instead.
    services.credit_void(environment_id=wallet.environment_id, transaction_id=lot.id, reason="dust", idempotency_key="v")


def test_a_fully_spent_lot_has_nothing_to_refund(wallet, refund):
    lot, _ = _paid_purchase(wallet, credits=D("10"))
    _spend(wallet, "10")
    with pytest.raises(InvalidOperation, match="nothing left"):
        refund(lot)


def test_a_voided_lot_cannot_then_be_refunded(wallet, refund):
    lot, _ = _paid_purchase(wallet, credits=D("10"))
    services.credit_void(environment_id=wallet.environment_id, transaction_id=lot.id, reason="x", idempotency_key="v")
    with pytest.raises(InvalidOperation, match="nothing left"):
        refund(lot)


def test_auto_completed_purchases_are_refundable(wallet, refund, environment):
    environment.tenant.auto_complete_purchased_credits = True
    environment.tenant.save()
    result = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("10"))
    assert refund(result.transaction).credit_note.amount == D("10")


def test_a_frozen_wallet_can_be_refunded(wallet, refund):
    lot, _ = _paid_purchase(wallet, credits=D("10"))
    services.wallet_freeze(wallet, reason="closing the account")
    assert refund(lot).credit_note.amount == D("10")


def test_replay_returns_the_same_credit_note_and_a_changed_body_is_a_conflict(wallet, refund, snapshot):
    lot, _ = _paid_purchase(wallet, credits=D("10"))
    first = refund(lot)
    before = snapshot()
    again = refund(lot)
    assert again.replayed and (again.transaction.pk, again.credit_note.pk) == (first.transaction.pk, first.credit_note.pk)
    with pytest.raises(AlreadyExists):
        refund(lot, reason="another")
    with pytest.raises(AlreadyExists):  # the same key as a void of the same lot is another operation
        services.credit_void(
            environment_id=wallet.environment_id, transaction_id=lot.id, reason="customer asked", idempotency_key="refund-1"
        )
    assert snapshot() == before and CreditNote.objects.count() == 1


def test_the_database_refuses_credit_notes_beyond_the_invoice_total(wallet, refund):
    """The trigger of invoices 0003: Σ credit notes of an invoice ≤ its total, whoever writes them."""
    lot, invoice = _paid_purchase(wallet, credits=D("10"))
    _spend(wallet, "4")
    note = refund(lot).credit_note  # 6 of 10
    other_row = services.wallet_top_up(wallet, credits=D("1"), reason="FREE_CREDIT_GRANT").transaction
    with pytest.raises(DatabaseError, match="credit notes of invoice"), transaction.atomic():
        CreditNote.objects.create(
            tenant_id=invoice.tenant_id, environment_id=invoice.environment_id, invoice=invoice,
            wallet_transaction=other_row, credits=D("5"), amount=D("5"), currency="usd", reason="planted",
        )  # fmt: skip
    with pytest.raises(DatabaseError, match="credit notes of invoice"), transaction.atomic():
        CreditNote.objects.filter(pk=note.pk).update(amount=D("10.000000001"))
    assert CreditNote.objects.get().amount == D("6")


def test_refund_publishes_both_events(environment, wallet, refund):
    WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.1:9/hook")
    lot, invoice = _paid_purchase(wallet, credits=D("10"))
    result = refund(lot)
    voided = WebhookEvent.objects.get(event_type="wallet.credits.voided")
    assert voided.payload["transaction"]["transaction_reason"] == "CREDIT_REFUND"
    noted = WebhookEvent.objects.get(event_type="invoice.credit_note.created")
    assert noted.payload["credit_note"] == {
        "id": result.credit_note.id,
        "invoice_id": invoice.id,
        "wallet_transaction_id": result.transaction.id,
        "credits": "10",
        "amount": "10",
        "currency": "usd",
        "reason": "customer asked",
        "created_at": noted.payload["credit_note"]["created_at"],
    }


@pytest.mark.usefixtures("ledger_may_drift")  # two debits stand in for refund rows: the CN audit would say so
def test_a_second_note_on_one_invoice_gives_back_the_rest_of_the_price_never_more(make_wallet):
    """Credits held when the first refund came are refunded once released (issue 14's holds): the
    invoice's notes then total the price of all the credits they refund, rounded once, not each
    note rounded on its own. 0.0003 credits bought for 0.000000003: half is worth 0.0000000015,
    so the first note is 0.000000002 and the second the 0.000000001 left, not 0.000000002 again."""
    wallet = make_wallet(topup_conversion_rate=D("0.00001"))
    lot, invoice = _paid_purchase(wallet, credits=D("0.0003"))
    assert invoice.amount_paid == D("0.000000003")
    halves = [_spend(wallet, "0.00015", key=f"half-{i}") for i in range(2)]  # rows of 0.00015 credits each
    first = credit_note_issue(invoice, halves[0], lot=lot, reason="first", actor="", now=lot.created_at)
    second = credit_note_issue(invoice, halves[1], lot=lot, reason="second", actor="", now=lot.created_at)
    assert (first.amount, second.amount) == (D("0.000000002"), D("0.000000001"))
    assert first.amount + second.amount == invoice.amount_paid
