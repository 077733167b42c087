"""Open holds on the customer page and the transfers' pages, in a real browser (Debian's Chromium
under Playwright), at 1280 px as support works.

A Support agent opens a customer with an open hold, follows the hold's link to its row on the
wallet page and releases it from there; then pastes a transfer's id in the header's search box
and lands on the transfer's page, and opens the transfers' list. Every page is photographed
(test-artifacts/screenshots/holds-transfers/) and must not scroll sideways.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import expect

from tests.admin.browser import browser_page, horizontal_overflow, log_in, shoot
from tests.admin.flows import PASSWORD
from tests.admin.test_layout import LONG_EMAIL, LONG_EXTERNAL_ID, LONG_NAME
from tests.admin.test_support_day import find
from wallets import services
from wallets.admin.display import change_url
from wallets.services import holds

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(live_server, monkeypatch, support_groups):
    agent = User.objects.create_user("sam", password=PASSWORD, is_staff=True)
    agent.groups.add(Group.objects.get(name="Support"))
    with browser_page(monkeypatch, width=1280) as page:
        log_in(page, live_server, "sam")
        yield page


def fits(page, name: str) -> None:
    shoot(page, f"holds-transfers/{name}")
    assert horizontal_overflow(page) == {}, name


def test_a_customer_s_open_hold_leads_to_its_row_on_the_wallet_page(live_server, page, make_customer, make_wallet):
    customer = make_customer(name=LONG_NAME, email=LONG_EMAIL, external_id=LONG_EXTERNAL_ID)
    wallet = make_wallet(owner=customer, name="Prepaid credits for the production API, invoiced monthly")
    services.wallet_top_up(wallet, credits=Decimal("12345678.123456789"), reason="FREE_CREDIT_GRANT")
    hold = holds.hold_place(
        wallet,
        credits=Decimal("1234567.123456789"),
        idempotency_key="render-job-000000000001",
        expires_at=timezone.now() + timedelta(hours=6),
        description="Render job 1 for the nightly batch of the production API " * 3,
        metadata={"job_id": "render-000000000001", "region": "eu-west-1"},
        actor="api:render-service",
    ).hold

    page.goto(f"{live_server.url}{change_url(customer)}")
    section = page.locator("#customer-holds")
    expect(section.locator("h2")).to_have_text("Open holds (1)")
    expect(section).to_contain_text("job_id=render-000000000001")
    fits(page, "customer")

    section.locator(f'a[title="{hold.pk}"]').click()
    expect(page).to_have_url(f"{live_server.url}{change_url(wallet)}#hold-{hold.pk}")
    row = page.locator(f"#hold-{hold.pk}")
    expect(row).to_be_in_viewport()  # the browser scrolled to the hold's row
    expect(row).to_contain_text("1234567.123456789")
    fits(page, "wallet-hold")

    # Back on the customer page, "Release holds of …" starts the wallet page's action for that wallet.
    page.go_back()
    page.get_by_role("button", name=f"Release holds of {wallet.name}").click()
    expect(page.locator("#id_reason")).to_be_visible()
    expect(page.locator(".wallet-action-wallets")).to_contain_text(hold.pk)
    fits(page, "release-form")


def test_a_transfer_id_in_the_search_box_opens_the_transfer(live_server, page, make_customer, make_wallet):
    customer = make_customer(name=LONG_NAME, email=LONG_EMAIL, external_id=LONG_EXTERNAL_ID)
    main = make_wallet(owner=customer, name="Prepaid credits for the production API, invoiced monthly")
    promo = make_wallet(owner=customer, wallet_type="PROMOTIONAL", name="Promotional credits for the staging API")
    services.wallet_top_up(main, credits=Decimal("5000"), reason="PURCHASED_CREDIT_DIRECT", priority=1)
    services.wallet_top_up(main, credits=Decimal("12345678.123456789"), reason="FREE_CREDIT_GRANT")
    transfer = services.wallet_transfer(
        main,
        promo,
        credits=Decimal("7345.123456789"),
        idempotency_key="move-credits-ticket-000000000077-" + "x" * 40,
        description="Moved to the promotional wallet after the contract change, ticket #77 " * 2,
        actor="user:fiona",
    ).transfer

    find(page, transfer.pk)
    expect(page).to_have_url(f"{live_server.url}{change_url(transfer)}")
    rows = page.locator("table.wallet-transfer-rows tbody tr")
    expect(rows).to_have_count(3)  # the debit and one credit per lot it took
    expect(page.locator("table.wallet-transfer-lots tbody tr")).to_have_count(2)
    fits(page, "transfer")

    # Its debit's link opens the ledger row, which links back to the transfer.
    rows.first.locator(f'a[title="{transfer.debit_id}"]').click()
    expect(page).to_have_url(f"{live_server.url}{change_url(transfer.debit)}")
    page.locator(f'a[href="{change_url(transfer)}"]').click()
    expect(page).to_have_url(f"{live_server.url}{change_url(transfer)}")

    page.goto(f"{live_server.url}/admin/wallets/wallettransfer/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("a.bo-export")).to_be_visible()
    fits(page, "transfer-list")
