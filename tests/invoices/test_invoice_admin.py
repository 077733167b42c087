"""The invoice admin: mark paid and void with a confirmation, permissions, the printable page."""

from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Group, User
from django.test import Client

from invoices.models import Invoice
from wallets import services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/invoices/invoice/"


def _client(*groups: str) -> Client:
    user = User.objects.create_user(username=f"u-{'-'.join(groups) or 'none'}", password="x", is_staff=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def invoice(wallet):
    result = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=Decimal("25"))
    return Invoice.objects.get(pk=result.invoice_id)


def _act(client, action, invoice, **extra):
    return client.post(CHANGELIST, {"action": action, helpers.ACTION_CHECKBOX_NAME: [invoice.pk], **extra})


def test_mark_paid_asks_first_then_completes_the_credit_once(invoice, wallet):
    finance = _client("Finance")
    page = _act(finance, "mark_paid", invoice)
    assert page.status_code == 200 and b"25 USD" in page.content
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == 0  # nothing before the confirmation
    _act(finance, "mark_paid", invoice, confirm="yes")
    again = _act(finance, "mark_paid", invoice, confirm="yes")  # a double submit
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == Decimal("25")
    assert invoice.payments.count() == 1
    messages = [str(m) for m in again.wsgi_request._messages]
    assert any("already paid" in m for m in messages)


def test_void_fails_the_credit(invoice, wallet):
    _act(_client("Finance"), "void", invoice, confirm="yes")
    invoice.refresh_from_db()
    assert invoice.invoice_status == "VOIDED"
    assert invoice.wallet_transaction.transaction_status == "failed"
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == 0


def test_support_sees_invoices_but_cannot_settle_them(invoice):
    support = _client("Support")
    page = support.get(CHANGELIST)
    assert page.status_code == 200 and invoice.invoice_number.encode() in page.content
    assert b"mark_paid" not in page.content
    _act(support, "mark_paid", invoice, confirm="yes")
    invoice.refresh_from_db()
    assert invoice.payment_status == "PENDING"


def test_printable_invoice_shows_the_line_and_totals(invoice):
    page = _client("Finance").get(f"{CHANGELIST}{invoice.pk}/print/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Purchase 25 credits" in body and invoice.invoice_number in body and "25 USD" in body


def test_overview_counts_pending_invoices_and_the_ledger_links_to_them(invoice):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(admin)
    index = client.get("/admin/").content.decode()
    assert 'id="overview-pending-invoices"' in index
    assert "payment_status__exact=PENDING" in index
    row = client.get(f"/admin/wallets/wallettransaction/{invoice.wallet_transaction_id}/change/").content.decode()
    assert invoice.invoice_number in row


def test_support_can_start_an_invoiced_purchase_from_the_top_up_form():
    from wallets.admin.forms import ADMIN_TOP_UP_REASONS

    assert "PURCHASED_CREDIT_INVOICED" in ADMIN_TOP_UP_REASONS


def test_alert_log_is_listed(make_wallet):
    from django.contrib.auth.models import User

    wallet = make_wallet(
        alert_settings={"alert_enabled": True, "critical": {"threshold": "50", "condition": "below"}},
        initial_credits=Decimal("10"),
    )
    admin = User.objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/wallets/alertlog/").content.decode()
    assert wallet.id in page and "in_alarm" in page
