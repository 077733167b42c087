"""Credit-note integrity: does every refund have its credit note, at the invoice's price?

Read-only, like wallets.ledger.integrity, which runs ``credit_notes`` with its own checks
(InvoicesConfig.ready adds it), so ``check_ledger``, the admin's check and every test's closing
ledger check see credit notes too. Invariant label CN:
- every CREDIT_REFUND debit has exactly one credit note, and every credit note one CREDIT_REFUND debit;
- the note is against the invoice of the lot the refund emptied, for the refund's credits, in the
  invoice's currency, for amount_paid × credits / the lot's credit_amount rounded once
  (wallets.ledger.money.pro_rata), and it is positive;
- an invoice's credit notes add up to no more than its total.
"""

from django.db.models import F, Q, Sum

from invoices.models import CreditNote, Invoice
from wallets.ledger import money
from wallets.ledger.integrity import Problem
from wallets.models import WalletTransaction

LABEL = "CN"


def credit_notes(wallet_ids: list[str]) -> list[Problem]:
    return [*_refunds_without_note(wallet_ids), *_notes(wallet_ids), *_totals(wallet_ids)]


def _fmt(value) -> str:
    return money.format_decimal(value) if value is not None else "none"


def _refunds_without_note(wallet_ids: list[str]) -> list[Problem]:
    refunds = WalletTransaction.objects.filter(
        wallet_id__in=wallet_ids, transaction_reason=WalletTransaction.Reason.CREDIT_REFUND, credit_note__isnull=True
    )
    return [
        Problem(row.wallet_id, LABEL, f"refund {row.id} of {_fmt(row.credit_amount)} has no credit note")
        for row in refunds.order_by("wallet_id", "sequence", "id")
    ]


def _notes(wallet_ids: list[str]) -> list[Problem]:
    notes = (
        CreditNote.objects.filter(Q(invoice__wallet_id__in=wallet_ids) | Q(wallet_transaction__wallet_id__in=wallet_ids))
        .select_related("invoice", "wallet_transaction", "wallet_transaction__parent_transaction")
        .order_by("id")
    )
    problems = []
    for note in notes:
        invoice, row = note.invoice, note.wallet_transaction
        lot = row.parent_transaction
        wrong = []
        if row.type != WalletTransaction.Type.DEBIT or row.transaction_reason != WalletTransaction.Reason.CREDIT_REFUND:
            wrong.append(f"its row {row.id} is a {row.type} {row.transaction_reason}, not a refund")
        if lot is None or lot.id != invoice.wallet_transaction_id or row.wallet_id != invoice.wallet_id:
            wrong.append(f"its refund emptied {row.parent_transaction_id}, not the invoice's lot {invoice.wallet_transaction_id}")
        if note.credits != row.credit_amount:
            wrong.append(f"it credits {_fmt(note.credits)} but the refund took {_fmt(row.credit_amount)}")
        if note.currency != invoice.currency:
            wrong.append(f"its currency {note.currency} is not the invoice's {invoice.currency}")
        if lot is not None:
            price = money.pro_rata(invoice.amount_paid, part=row.credit_amount, whole=lot.credit_amount)
            if note.amount != price:
                wrong.append(f"its amount is {_fmt(note.amount)} but the invoice's price of the credits is {_fmt(price)}")
        if note.amount <= 0:
            wrong.append(f"its amount {_fmt(note.amount)} is not positive")
        problems += [Problem(row.wallet_id, LABEL, f"credit note {note.id} of invoice {invoice.id}: {what}") for what in wrong]
    return problems


def _totals(wallet_ids: list[str]) -> list[Problem]:
    over = (
        Invoice.objects.filter(wallet_id__in=wallet_ids)
        .annotate(credited=Sum("credit_notes__amount"))
        .filter(credited__gt=F("amount_due"))
        .order_by("id")
    )
    return [
        Problem(
            invoice.wallet_id,
            LABEL,
            f"invoice {invoice.id}'s credit notes total {_fmt(invoice.credited)}, more than its {_fmt(invoice.amount_due)}",
        )
        for invoice in over
    ]
