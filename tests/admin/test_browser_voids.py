"""Voiding a lot's remaining credits, clicked in a real browser (Playwright driving Debian's Chromium).

Against pytest-django's live server: a Support agent opens the wallet, follows the open lot to
its page, voids what it has left (form, review with the balance before and after, confirm),
sees the result, and the lot's page no longer offers the void. Then a Finance member refunds a
paid purchase and finds the credit note on its invoice. Pages are saved to
test-artifacts/screenshots/voids-<step>.png (git-ignored).
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from backoffice.models import StaffAction
from invoices.models import CreditNote, Invoice
from invoices.services import invoice_pay
from tests.admin.browser import browser_page, shoot
from tests.admin.flows import PASSWORD
from tests.admin.test_browser import expect_message, log_in
from wallets import services
from wallets.admin.display import change_url
from wallets.models import WalletTransaction

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

D = Decimal


@pytest.fixture
def page(monkeypatch):
    with browser_page(monkeypatch) as page:
        yield page


def _staff(username: str, group: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def _review_and_confirm(page, shot: str, label: str) -> None:
    page.get_by_role("button", name=f"Review {label}…").click()
    confirm = page.get_by_role("button", name=f"Confirm: {label}")
    expect(confirm).to_be_visible()
    shoot(page, f"voids-{shot}-review")
    confirm.click()


def test_support_voids_a_lot_and_finance_refunds_a_purchase(live_server, page, support_groups, make_customer, make_wallet):
    _staff("sam", "Support")
    _staff("fiona", "Finance")
    wallet = make_wallet(owner=make_customer(name="Ada Lovelace", email="ada@analytical.example"))
    lot = services.wallet_top_up(wallet, credits=D("100"), reason="FREE_CREDIT_GRANT", description="Welcome").transaction
    services.wallet_debit(wallet, credits=D("30"), idempotency_key="usage", reason="INVOICE_PAYMENT")

    # Support: the wallet page, then the open lot's page
    log_in(page, live_server, "sam")
    page.goto(f"{live_server.url}{change_url(wallet)}")
    page.locator("#wallet-lots a").first.click()
    expect(page.locator("#content")).to_contain_text(lot.pk)
    expect(page.get_by_role("link", name="Refund remaining credits…")).to_have_count(0)  # Finance only
    shoot(page, "voids-01-lot")

    # the void: form, review (70 left, 70 → 0), confirm
    page.get_by_role("link", name="Void remaining credits…").click()
    page.fill("#id_reason", "Welcome credits granted twice")
    page.fill("#id_note", "Ticket #77, approved by the team lead")
    shoot(page, "voids-02-form")
    page.get_by_role("button", name="Review void remaining credits…").click()
    expect(page.locator("#lot-remainder")).to_have_text("70 credits")
    expect(page.locator("#lot-balance")).to_contain_text("70 → 0 credits")
    page.get_by_role("button", name="Confirm: void remaining credits").click()
    row = WalletTransaction.objects.get(wallet=wallet, transaction_reason="CREDIT_VOID")
    expect_message(page, f"Voided 70 credits of lot {lot.pk}, transaction {row.id}.")
    expect(page.get_by_role("link", name="Void remaining credits…")).to_have_count(0)
    shoot(page, "voids-03-voided")
    wallet.refresh_from_db()
    assert (wallet.credit_balance, row.credit_amount, row.created_by) == (0, D("70"), "user:sam")
    entry = StaffAction.objects.get(kind="credits_voided")
    assert (entry.staff, entry.note, entry.outcome) == ("sam", "Ticket #77, approved by the team lead", "done")

    # Finance: a paid purchase, refunded with a credit note
    purchase = services.wallet_top_up(wallet, credits=D("40"), reason="PURCHASED_CREDIT_INVOICED")
    invoice_pay(Invoice.objects.get(pk=purchase.invoice_id))
    services.wallet_debit(wallet, credits=D("10"), idempotency_key="usage-2", reason="INVOICE_PAYMENT")
    page.context.clear_cookies()
    log_in(page, live_server, "fiona")
    page.goto(f"{live_server.url}{change_url(purchase.transaction)}")
    page.get_by_role("link", name="Refund remaining credits…").click()
    page.fill("#id_reason", "Customer cancelled the plan")
    page.fill("#id_note", "Refund approved in ticket #78")
    _review_and_confirm(page, "04-refund", "refund remaining credits")
    note = CreditNote.objects.get()
    assert (note.credits, note.amount, note.invoice_id) == (D("30"), D("30"), purchase.invoice_id)
    expect_message(page, f"Refunded 30 credits of lot {purchase.transaction.pk}, transaction "
                         f"{note.wallet_transaction_id}; credit note {note.id} for 30 USD.")  # fmt: skip
    page.goto(f"{live_server.url}/admin/invoices/invoice/{purchase.invoice_id}/change/")
    expect(page.locator("#content")).to_contain_text(note.id)
    shoot(page, "voids-05-invoice-credit-note")
