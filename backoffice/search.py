"""The one search box's reads: whatever a support person pastes, the objects it names.

A prefixed id (cust_, wallet_, wtxn_, xfer_, hold_, inv_, pay_, apr_: core.ids) is looked up by primary key; any text
is also tried as a customer's external id, email (exact, any case) or name (part of it), as an
idempotency key of a ledger row or an invoice, and as an invoice number. Only the kinds of object
the staff member may view are searched, as everywhere in the admin (which spans every tenant).
Exact lookups name every environment so they walk the (environment, key) unique indexes.
"""

from dataclasses import dataclass

from backoffice import approvals
from backoffice.models import ApprovalRequest
from core.admin import may_view
from core.admin_cells import shorten_id
from core.inputs import check_text
from customers.models import Customer
from invoices.models import Invoice, Payment
from tenancy.models import Environment
from wallets.admin.display import change_url, credits
from wallets.models import Wallet, WalletHold, WalletTransaction, WalletTransfer

# More hits than this are a query to narrow, not a list to read.
LIMIT = 50
# Every column the box is matched against holds at most this many characters.
MAX_QUERY_LENGTH = 255


@dataclass(frozen=True)
class Hit:
    kind: str  # "Customer", "Wallet", …
    object_id: str
    label: str
    matched: str  # what the query matched: "id", "email", …
    url: str


def _customer_hit(customer: Customer, matched: str) -> Hit:
    # The admin spans every tenant: the environment tells two customers with one external id apart.
    label = " · ".join(part for part in (customer.name, customer.external_id, customer.email, str(customer.environment)) if part)
    return Hit("Customer", customer.pk, label, matched, change_url(customer))


def _wallet_hit(wallet: Wallet, matched: str) -> Hit:
    label = f"{wallet.name or shorten_id(wallet.pk)} ({wallet.currency.upper()}, {wallet.wallet_status}) of {wallet.customer}"
    return Hit("Wallet", wallet.pk, label, matched, change_url(wallet))


def _transaction_hit(row: WalletTransaction, matched: str) -> Hit:
    label = f"{row.type} {row.transaction_reason} on {shorten_id(row.wallet_id)}, {row.created_at:%Y-%m-%d %H:%M}"
    return Hit("Wallet transaction", row.pk, label, matched, change_url(row))


def _transfer_hit(transfer: WalletTransfer, matched: str) -> Hit:
    label = (
        f"{credits(transfer.credits)} credits from {shorten_id(transfer.from_wallet_id)} "
        f"to {shorten_id(transfer.to_wallet_id)}, {transfer.created_at:%Y-%m-%d %H:%M}"
    )
    return Hit("Transfer", transfer.pk, label, matched, change_url(transfer))


def _hold_hit(hold: WalletHold, matched: str) -> Hit:
    # Holds have no page of their own: an open one is a row of its wallet's page (its anchor).
    label = (
        f"{hold.hold_status} hold of {credits(hold.credits)} credits on {shorten_id(hold.wallet_id)}, "
        f"expires {hold.expires_at:%Y-%m-%d %H:%M}"
    )
    return Hit("Hold", hold.pk, label, matched, f"{change_url(hold.wallet)}#hold-{hold.pk}")


def _invoice_hit(invoice: Invoice, matched: str) -> Hit:
    label = f"{invoice.invoice_number} ({invoice.invoice_status}, payment {invoice.payment_status}) of {invoice.customer}"
    return Hit("Invoice", invoice.pk, label, matched, change_url(invoice))


def _payment_hit(payment: Payment, matched: str) -> Hit:
    # Payments have no page of their own: they are listed on their invoice's page.
    label = f"{payment.payment_status} payment on invoice {payment.invoice.invoice_number}"
    return Hit("Payment", payment.pk, label, matched, change_url(payment.invoice))


def _approval_hit(approval: ApprovalRequest, matched: str) -> Hit:
    label = f"{approvals.describe(approval)}, {approval.status}"
    return Hit("Approval request", approval.pk, label, matched, change_url(approval))


def _by_id(query: str, user) -> list[Hit]:
    prefix = query.partition("_")[0]
    if prefix == "cust" and may_view(user, Customer):
        return [_customer_hit(c, "id") for c in Customer.objects.select_related("environment__tenant").filter(pk=query)]
    if prefix == "wallet" and may_view(user, Wallet):
        return [_wallet_hit(w, "id") for w in Wallet.objects.select_related("customer").filter(pk=query)]
    if prefix == "wtxn" and may_view(user, WalletTransaction):
        return [_transaction_hit(t, "id") for t in WalletTransaction.objects.filter(pk=query)]
    if prefix == "xfer" and may_view(user, WalletTransfer):
        return [_transfer_hit(t, "id") for t in WalletTransfer.objects.filter(pk=query)]
    if prefix == "hold" and may_view(user, WalletTransaction):  # shown with the ledger, as on the wallet page
        return [_hold_hit(h, "id") for h in WalletHold.objects.select_related("wallet").filter(pk=query)]
    if prefix == "inv" and may_view(user, Invoice):
        return [_invoice_hit(i, "id") for i in Invoice.objects.select_related("customer").filter(pk=query)]
    if prefix == "pay" and may_view(user, Invoice):
        return [_payment_hit(p, "id") for p in Payment.objects.select_related("invoice").filter(pk=query)]
    if prefix == "apr" and may_view(user, ApprovalRequest):
        return [_approval_hit(a, "id") for a in ApprovalRequest.objects.filter(pk=query)]
    return []


def _by_text(query: str, user) -> list[Hit]:
    environments = list(Environment.objects.values_list("pk", flat=True))
    hits: list[Hit] = []
    if may_view(user, Customer):
        customers = Customer.objects.select_related("environment__tenant").filter(environment__in=environments)
        hits += [_customer_hit(c, "external id") for c in customers.filter(external_id=query)[:LIMIT]]
        hits += [_customer_hit(c, "email") for c in customers.filter(email__iexact=query)[:LIMIT]]
        hits += [_customer_hit(c, "name") for c in customers.filter(name__icontains=query).order_by("name")[:LIMIT]]
    if may_view(user, WalletTransaction):
        rows = WalletTransaction.objects.filter(environment__in=environments, idempotency_key=query)
        hits += [_transaction_hit(t, "idempotency key") for t in rows[:LIMIT]]
    if may_view(user, Invoice):
        invoices = Invoice.objects.select_related("customer").filter(environment__in=environments)
        hits += [_invoice_hit(i, "idempotency key") for i in invoices.filter(idempotency_key=query)[:LIMIT]]
        hits += [_invoice_hit(i, "invoice number") for i in invoices.filter(invoice_number=query)[:LIMIT]]
    return hits


def find(query: str, *, user) -> list[Hit]:
    """Every object ``query`` names that ``user`` may view: each object once, by its first match.

    Raises ValidationFailed for a query no column can hold, so it names nothing: one with a NUL
    character (PostgreSQL text cannot store one and refuses the query) or a longer one.
    """
    query = query.strip()
    if not query:
        return []
    check_text(query, field="The search", max_length=MAX_QUERY_LENGTH)
    seen, hits = set(), []
    for hit in _by_id(query, user) + _by_text(query, user):
        if (hit.kind, hit.object_id) not in seen:
            seen.add((hit.kind, hit.object_id))
            hits.append(hit)
    return hits[:LIMIT]
