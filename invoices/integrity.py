"""Credit-note integrity: does every refund have its credit note, at the invoice's price?

Read-only, like wallets.ledger.integrity, which runs ``credit_notes`` with its own checks
(InvoicesConfig.ready adds it), so ``check_ledger``, the admin's check and every test's closing
ledger check see credit notes too. Invariant label CN:
- every CREDIT_REFUND debit has exactly one credit note, and every credit note one CREDIT_REFUND debit;
- the note is against the invoice of the lot the refund emptied, for the refund's credits, in the
  invoice's currency, and it is positive;
- an invoice's credit notes add up to exactly the invoice's price of the credits they refund,
  amount_paid × Σ credits / the lot's credit_amount rounded once (wallets.ledger.money.pro_rata;
  invoices.services.credit_note_issue), and so to no more than its total.
"""

from django.db.models import Q, Sum

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
        if note.amount <= 0:
            wrong.append(f"its amount {_fmt(note.amount)} is not positive")
        problems += [Problem(row.wallet_id, LABEL, f"credit note {note.id} of invoice {invoice.id}: {what}") for what in wrong]
    return problems


def _totals(wallet_ids: list[str]) -> list[Problem]:
    noted = (
        Invoice.objects.filter(wallet_id__in=wallet_ids, credit_notes__isnull=False)
        .annotate(credited=Sum("credit_notes__amount"), credits=Sum("credit_notes__credits"))
        .select_related("wallet_transaction")
        .order_by("id")
    )
    problems = []
    for invoice in noted:
        price = money.pro_rata(invoice.amount_paid, part=invoice.credits, whole=invoice.wallet_transaction.credit_amount)
        if invoice.credited != price:
            problems.append(
                Problem(
                    invoice.wallet_id,
                    LABEL,
                    f"invoice {invoice.id}'s credit notes total {_fmt(invoice.credited)} for {_fmt(invoice.credits)} credits, "
                    f"but the invoice's price of those credits is {_fmt(price)}",
                )
            )
        if invoice.credited > invoice.amount_due:
            problems.append(
                Problem(
                    invoice.wallet_id,
                    LABEL,
                    f"invoice {invoice.id}'s credit notes total {_fmt(invoice.credited)}, above its {_fmt(invoice.amount_due)}",
                )
            )
    return problems
