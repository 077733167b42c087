"""A member of Finance moves credits between a customer's two wallets, in a real browser.

Playwright driving Debian's Chromium against pytest-django's live server: the wallet page's
"Transfer credits…" button, the form, the review with both wallets' balances before and after,
the confirmation, then the debit's transaction page linking the credit on the other wallet.
Screenshots go to test-artifacts/screenshots/transfer-*.png (git-ignored).
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import expect

from tests.admin.browser import browser_page, shoot
from tests.admin.test_browser import expect_message, log_in, review_and_confirm
from wallets import services
from wallets.admin.display import change_url
from wallets.models import Wallet, WalletTransfer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    with browser_page(monkeypatch) as page:
        yield page


def test_finance_transfers_credits_between_a_customers_wallets(live_server, page, support_groups, make_customer, make_wallet):
    fiona = User.objects.create_user("fiona", password="correct-horse-battery", is_staff=True)
    fiona.groups.add(Group.objects.get(name="Finance"))
    ada = make_customer(name="Ada Lovelace", email="ada@analytical.example")
    prepaid, promo = make_wallet(owner=ada), make_wallet(owner=ada, wallet_type="PROMOTIONAL")
    expiry = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    services.wallet_top_up(prepaid, credits=Decimal("80"), reason="PURCHASED_CREDIT_DIRECT", priority=1, expiry_date=expiry)
    services.wallet_top_up(promo, credits=Decimal("5"), reason="FREE_CREDIT_GRANT")

    log_in(page, live_server, "fiona")
    page.goto(f"{live_server.url}{change_url(prepaid)}")
    page.get_by_role("button", name="Transfer credits…").click()
    shoot(page, "transfer-01-form")
    page.select_option("#id_to_wallet", promo.pk)
    page.fill("#id_credits", "30")
    page.fill("#id_justification", "Move to the promo wallet, ticket #77")
    review_and_confirm(page, "transfer-02", review_shows=(".wallet-action-wallets", "This wallet: 80 → 50 credits."))
    expect_message(page, "1 transferred")
    shoot(page, "transfer-03-done")

    transfer = WalletTransfer.objects.get()
    (credit,) = transfer.debit.children.all()
    assert (credit.wallet_id, credit.credit_amount, credit.expiry_date, credit.priority) == (promo.pk, Decimal(30), expiry, 1)
    assert credit.transaction_reason == "TRANSFER_IN_PURCHASED"
    assert [Wallet.objects.get(pk=w.pk).credit_balance for w in (prepaid, promo)] == [Decimal(50), Decimal(35)]

    # The debit's page links the credit on the other wallet, and back.
    page.goto(f"{live_server.url}{change_url(transfer.debit)}")
    expect(page.locator(".field-transfer_column")).to_contain_text(transfer.pk)
    shoot(page, "transfer-04-debit-page")
    page.locator(f'.field-transfer_column a[href="{change_url(credit)}"]').click()
    expect(page).to_have_title(re.compile(credit.pk))
    expect(page.locator(".field-transfer_column")).to_contain_text("TRANSFER_OUT 30 credits")
    shoot(page, "transfer-05-credit-page")
