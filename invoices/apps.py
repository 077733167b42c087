"""App config for invoices: where its credit-note audit joins the ledger's checks, once, at start-up."""

from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"

    def ready(self):
        # wallets.ledger.integrity knows nothing of invoices; what invoices keep beside the ledger
        # (credit notes against refunds) is checked with every ledger check from here.
        from invoices import integrity as credit_note_integrity
        from wallets.ledger import integrity

        integrity.add_check(credit_note_integrity.credit_notes)
