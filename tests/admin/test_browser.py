"""A support agent's round trip in a real browser: Playwright driving Debian's Chromium.

Against pytest-django's live server: log in as a member of "Support", find a customer by email,
open the wallet, top it up with an expiry, freeze it, see a top-up refused while it is frozen,
unfreeze it, and export its ledger as CSV; then a member of "Finance" terminates it, which takes
typing a confirmation word. Every page is saved to
test-artifacts/screenshots/<step>.png (git-ignored) for people to look at.
"""

import csv
import io
import os
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import expect

from tests.admin.browser import ARTIFACTS, SCREENSHOTS, browser_page, shoot
from tests.admin.flows import PASSWORD
from wallets import services
from wallets.models import WalletTransaction

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    with browser_page(monkeypatch) as page:
        yield page


def expect_message(page, text: str) -> None:
    expect(page.locator("ul.messagelist li")).to_have_text([text])


def log_in(page, live_server, username: str, shot: str | None = None) -> None:
    page.goto(f"{live_server.url}/admin/")
    if shot:
        shoot(page, shot)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#support-overview").wait_for()


def review_and_confirm(page, shot: str, *, review_shows: tuple[str, str] | None = None) -> None:
    """Submit the action form, check and photograph the review, then confirm."""
    page.get_by_role("button", name=re.compile(r"^Review ")).click()
    confirm = page.get_by_role("button", name=re.compile(r"^Confirm: "))
    expect(confirm).to_be_visible()
    if review_shows:
        selector, text = review_shows
        expect(page.locator(selector)).to_contain_text(text)
    shoot(page, f"{shot}-review")
    confirm.click()


def test_support_agent_round_trip(live_server, page, support_groups, make_customer, make_wallet):
    # given: a Support agent, and the customer who called, among others
    agent = User.objects.create_user("sam", password=PASSWORD, is_staff=True)
    agent.groups.add(Group.objects.get(name="Support"))
    make_customer(name="Grace Hopper", email="grace@navy.example")
    ada = make_customer(name="Ada Lovelace", email="ada@analytical.example")
    wallet = make_wallet(owner=ada)
    services.wallet_top_up(wallet, credits=Decimal("100"), reason="FREE_CREDIT_GRANT", description="Welcome credits")
    expiry = (timezone.now() + timedelta(days=90)).replace(hour=12, minute=0, second=0, microsecond=0)

    # log in
    log_in(page, live_server, "sam", shot="01-login")
    expect(page.locator("#overview-outstanding")).to_contain_text("100")
    shoot(page, "02-index-overview")

    # find the customer by email, open the customer, then the wallet
    page.locator('a[href="/admin/customers/customer/"]').first.click()
    page.fill("#searchbar", "ada@analytical.example")
    page.keyboard.press("Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    shoot(page, "03-customer-search")
    page.locator("#result_list tbody tr th a").first.click()
    expect(page.locator("#customer_form")).to_contain_text("ada@analytical.example")
    shoot(page, "04-customer")
    page.locator(f'a[href*="{wallet.pk.split("_")[1]}"]').first.click()
    page.locator("#wallet-chart").wait_for()
    shoot(page, "05-wallet")

    # top up with an expiry
    page.get_by_role("button", name="Top up…").click()
    shoot(page, "06-top-up-form")
    page.fill("#id_credits", "250")
    page.select_option("#id_reason", "FREE_CREDIT_GRANT")
    page.fill("#id_expiry_date", expiry.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_priority", "1")
    page.fill("#id_justification", "Outage compensation, ticket #9001")
    review_and_confirm(page, "07-top-up", review_shows=(".wallet-action-wallets", "Adds 250 credits (worth 250 USD)"))
    expect_message(page, "1 topped up")
    expect(page.locator("#ledger")).to_contain_text("Outage compensation, ticket #9001")
    shoot(page, "08-topped-up")
    lot = WalletTransaction.objects.get(wallet=wallet, description="Outage compensation, ticket #9001")
    assert (lot.credit_amount, lot.expiry_date, lot.priority, lot.created_by) == (Decimal("250"), expiry, 1, "user:sam")

    # freeze
    page.get_by_role("button", name="Freeze…").click()
    page.fill("#id_reason", "Card reported stolen")
    review_and_confirm(page, "09-freeze")
    expect_message(page, "1 frozen")
    expect(page.locator("#wallet-status-history")).to_contain_text("Card reported stolen")
    expect(page.get_by_role("button", name="Top up…")).to_have_count(0)
    expect(page.get_by_role("button", name="Unfreeze…")).to_have_count(1)
    expect(page.get_by_role("button", name="Terminate…")).to_have_count(0)  # Support may not
    shoot(page, "10-frozen")

    # a top-up while frozen, from the wallet list, is refused and writes nothing
    rows_before = WalletTransaction.objects.filter(wallet=wallet).count()
    page.goto(f"{live_server.url}/admin/wallets/wallet/?q=ada%40analytical.example")
    page.check(f'input.action-select[value="{wallet.pk}"]')
    page.select_option("select[name=action]", "top_up")
    page.locator("button[name=index]").click()
    page.fill("#id_credits", "10")
    page.fill("#id_justification", "Customer asked again")
    review_and_confirm(
        page, "11-top-up-while-frozen", review_shows=(".wallet-warning", "Will be refused: this wallet is frozen.")
    )
    expect_message(page, f"0 topped up, 1 refused: Wallet is frozen [{wallet.pk}]")
    shoot(page, "12-top-up-refused")
    assert WalletTransaction.objects.filter(wallet=wallet).count() == rows_before

    # unfreeze
    page.locator(f'a[href*="{wallet.pk.split("_")[1]}"]').first.click()
    page.get_by_role("button", name="Unfreeze…").click()
    page.fill("#id_reason", "New card issued")
    review_and_confirm(page, "13-unfreeze")
    expect_message(page, "1 unfrozen")
    shoot(page, "14-unfrozen")

    # export the wallet's ledger as CSV
    page.get_by_role("link", name="All transactions").first.click()
    page.locator("#result_list").wait_for()
    shoot(page, "15-transactions")
    with page.expect_download() as download_info:
        page.locator("a.wallet-export").click()
    download = download_info.value
    content = Path(download.path()).read_text()
    (ARTIFACTS / "wallet-transactions.csv").write_text(content)
    rows = list(csv.DictReader(io.StringIO(content)))
    ledger = WalletTransaction.objects.filter(wallet=wallet).order_by("-created_at", "-id")
    assert [row["id"] for row in rows] == [row.pk for row in ledger]
    assert [(row["credit_amount"], row["description"]) for row in rows] == [
        ("250", "Outage compensation, ticket #9001"),
        ("100", "Welcome credits"),
    ]
    assert rows[0]["expiry_date"] == expiry.isoformat().replace("+00:00", "Z")
    assert os.path.getsize(SCREENSHOTS / "15-transactions.png") > 0

    # Finance terminates, after reading the forfeit and typing the word
    finance = User.objects.create_user("fiona", password=PASSWORD, is_staff=True)
    finance.groups.add(Group.objects.get(name="Finance"))
    page.context.clear_cookies()
    log_in(page, live_server, "fiona")
    page.goto(f"{live_server.url}/admin/wallets/wallet/?q=ada%40analytical.example")
    page.locator(f'a[href*="{wallet.pk.split("_")[1]}"]').first.click()
    page.get_by_role("button", name="Terminate…").click()
    expect(page.locator(".wallet-forfeit")).to_have_text("350 credits")
    page.fill("#id_reason", "Customer closed the account")
    page.get_by_role("button", name=re.compile(r"^Review ")).click()
    page.fill("#id_confirmation", "yes")
    page.get_by_role("button", name=re.compile(r"^Confirm: ")).click()
    expect(page.locator(".wallet-confirm .errorlist")).to_have_text("Type TERMINATE in capitals to terminate.")
    shoot(page, "16-terminate-needs-the-word")
    page.fill("#id_confirmation", "TERMINATE")
    page.get_by_role("button", name=re.compile(r"^Confirm: ")).click()
    expect_message(page, "1 terminated")
    shoot(page, "17-terminated")
    wallet.refresh_from_db()
    assert (wallet.wallet_status, wallet.credit_balance) == ("closed", Decimal("0"))
