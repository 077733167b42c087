"""Purchased credits on invoice: upstream scenarios 59 and 33, and the pay/void lifecycle."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from core.exceptions import InvalidOperation, ValidationFailed
from invoices.models import Invoice
from invoices.services import invoice_pay, invoice_void
from wallets import services
from wallets.ledger.integrity import check_wallet
from wallets.models import Wallet, WalletTransaction

D = Decimal
INVOICED = "PURCHASED_CREDIT_INVOICED"


def _purchase(wallet, credits="100", **fields):
    return services.wallet_top_up(wallet, reason=INVOICED, credits=D(credits), **fields)


@pytest.mark.django_db
def test_59_invoiced_purchase_is_pending_with_an_invoice_and_no_balance(make_wallet):
    wallet = make_wallet(initial_credits=D("1000"), topup_conversion_rate=D("2"))
    result = _purchase(wallet)
    row = result.transaction
    assert row.transaction_status == "pending"
    assert result.invoice_id
    assert result.wallet.credit_balance == D("1000")
    invoice = Invoice.objects.get(pk=result.invoice_id)
    assert invoice.amount_due == D("200")  # credits × topup_conversion_rate
    assert (invoice.invoice_status, invoice.payment_status) == ("FINALIZED", "PENDING")
    assert invoice.line_items.get().display_name == "Purchase 100 credits"
    assert invoice.idempotency_key == row.idempotency_key
    assert row.credits_available == 0 and row.sequence is None


@pytest.mark.django_db
def test_credits_worth_nothing_at_the_rate_are_refused_not_a_500(make_wallet):
    """1e-9 credits at 0.07 are worth 0.000000000: no invoice can be for that (found by the model test)."""
    wallet = make_wallet(initial_credits=D("5"), topup_conversion_rate=D("0.07"))
    with pytest.raises(ValidationFailed) as refused:
        _purchase(wallet, credits="0.000000001", idempotency_key="tiny")
    assert refused.value.field == "credits_to_add" and "worth less than 0.000000001 usd" in refused.value.message
    assert not Invoice.objects.filter(wallet=wallet).exists()
    assert not WalletTransaction.objects.filter(idempotency_key="tiny").exists()
    assert _purchase(wallet, credits="0.000000008").invoice_id  # 0.00000000056 rounds up to the smallest amount


@pytest.mark.django_db
def test_33_breakdown_counts_completed_purchases_as_purchased(make_wallet):
    from wallets.selectors import credits_breakdown

    wallet = make_wallet(initial_credits=D("100"))
    invoice_pay(Invoice.objects.get(pk=_purchase(wallet, "50").invoice_id))
    wallet.refresh_from_db()
    breakdown = credits_breakdown([wallet])[wallet.id]
    assert (breakdown.purchased, breakdown.free) == (D("50"), D("100"))


@pytest.mark.django_db
def test_paying_completes_the_credit_once(make_wallet):
    wallet = make_wallet(initial_credits=D("10"))
    invoice = Invoice.objects.get(pk=_purchase(wallet, "100").invoice_id)
    payment = invoice_pay(invoice, amount=D("100"))
    row = WalletTransaction.objects.get(pk=invoice.wallet_transaction_id)
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("110")
    assert (row.transaction_status, row.credit_balance_before, row.credit_balance_after) == ("completed", D("10"), D("110"))
    assert row.credits_available == D("100")
    assert payment.amount == D("100")
    with pytest.raises(InvalidOperation, match="already paid"):
        invoice_pay(invoice)
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("110")
    assert check_wallet(wallet) == []


@pytest.mark.django_db
def test_void_fails_the_credit_and_adds_nothing(make_wallet):
    wallet = make_wallet(initial_credits=D("10"))
    invoice = Invoice.objects.get(pk=_purchase(wallet).invoice_id)
    invoice_void(invoice)
    row = WalletTransaction.objects.get(pk=invoice.wallet_transaction_id)
    assert row.transaction_status == "failed"
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("10")
    with pytest.raises(InvalidOperation, match="voided"):
        invoice_pay(invoice)
    with pytest.raises(InvalidOperation):
        invoice_void(invoice)
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("10")


@pytest.mark.django_db
def test_termination_voids_the_unpaid_invoices_so_no_credit_lands_on_the_closed_wallet(make_wallet):
    wallet = make_wallet(initial_credits=D("10"))
    unpaid = Invoice.objects.get(pk=_purchase(wallet, "40").invoice_id)
    paid = Invoice.objects.get(pk=_purchase(wallet, "5").invoice_id)
    invoice_pay(paid)
    services.wallet_terminate(wallet, reason="Customer left")

    unpaid.refresh_from_db()
    paid.refresh_from_db()
    assert (unpaid.invoice_status, paid.invoice_status, paid.payment_status) == ("VOIDED", "FINALIZED", "SUCCEEDED")
    assert WalletTransaction.objects.get(pk=unpaid.wallet_transaction_id).transaction_status == "failed"
    with pytest.raises(InvalidOperation, match="voided"):
        invoice_pay(unpaid)
    closed = Wallet.objects.get(pk=wallet.pk)
    assert (closed.wallet_status, closed.credit_balance) == ("closed", D("0"))
    assert check_wallet(closed) == []


@pytest.mark.django_db
def test_an_invoice_left_open_on_a_closed_wallet_is_not_paid(make_wallet):
    """An invoice still open on a closed wallet (terminated before terminations voided them) is refused."""
    wallet = make_wallet()
    invoice = Invoice.objects.get(pk=_purchase(wallet).invoice_id)
    Wallet.objects.filter(pk=wallet.pk).update(wallet_status="closed")
    with pytest.raises(InvalidOperation, match="terminated"):
        invoice_pay(invoice)
    assert WalletTransaction.objects.get(pk=invoice.wallet_transaction_id).transaction_status == "pending"
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("0")


@pytest.mark.django_db
def test_paid_invoice_cannot_be_voided(make_wallet):
    wallet = make_wallet()
    invoice = Invoice.objects.get(pk=_purchase(wallet).invoice_id)
    invoice_pay(invoice)
    with pytest.raises(InvalidOperation, match="paid"):
        invoice_void(invoice)


@pytest.mark.django_db
def test_partial_payment_is_refused(make_wallet):
    invoice = Invoice.objects.get(pk=_purchase(make_wallet()).invoice_id)
    with pytest.raises(ValidationFailed):
        invoice_pay(invoice, amount=D("99"))
    assert not invoice.payments.exists()


@pytest.mark.django_db
def test_payment_idempotency_key_returns_the_first_payment(make_wallet):
    invoice = Invoice.objects.get(pk=_purchase(make_wallet()).invoice_id)
    first = invoice_pay(invoice, idempotency_key="pay-1")
    assert invoice_pay(invoice, idempotency_key="pay-1").pk == first.pk


@pytest.mark.django_db
def test_auto_complete_setting_completes_at_once_and_issues_a_paid_invoice(make_wallet, environment):
    environment.tenant.auto_complete_purchased_credits = True
    environment.tenant.save()
    wallet = make_wallet()
    result = _purchase(wallet, "100")
    assert result.transaction.transaction_status == "completed"
    assert result.wallet.credit_balance == D("100")
    invoice = Invoice.objects.get(pk=result.invoice_id)
    assert (invoice.payment_status, invoice.amount_paid) == ("SUCCEEDED", D("100"))


@pytest.mark.django_db
def test_replayed_purchase_returns_the_same_invoice(make_wallet):
    wallet = make_wallet()
    first = _purchase(wallet, idempotency_key="buy-1")
    again = _purchase(wallet, idempotency_key="buy-1")
    assert again.replayed and again.invoice_id == first.invoice_id
    assert Invoice.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_complete_the_credit_once(make_wallet):
    wallet = make_wallet()
    invoice = Invoice.objects.get(pk=_purchase(wallet, "100").invoice_id)
    barrier = threading.Barrier(2)
    outcomes = []

    def pay():
        try:
            barrier.wait()
            invoice_pay(invoice)
            outcomes.append("paid")
        except InvalidOperation:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["paid", "refused"]
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("100")
    assert invoice.payments.count() == 1
