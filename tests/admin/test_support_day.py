"""A support person's day in a real browser (Debian's Chromium under Playwright), at 1280 px.

The search box on every id kind; then a task end to end: find the customer who called by email,
top up their wallet from the customer page, see it there, copy its id, and find it in the staff activity log
and its CSV export. Every step is photographed (test-artifacts/screenshots/support-day/) and
checked for sideways scrolling.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from backoffice.models import StaffAction
from invoices import services as invoice_services
from tests.admin.browser import browser_page, horizontal_overflow, log_in, shoot
from tests.admin.flows import PASSWORD
from tests.admin.test_layout import LONG_EMAIL, seed_support_day
from wallets.admin.display import change_url
from wallets.models import WalletTransaction

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def find(page, query: str) -> None:
    """Type into the header's search box and press Enter, as staff do from any page."""
    page.fill("form.bo-find-header input[name=q]", query)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def fits(page, name: str) -> None:
    shoot(page, f"support-day/{name}")
    assert horizontal_overflow(page) == {}, name


def test_the_search_box_opens_each_kind_of_id(live_server, monkeypatch, make_customer, make_wallet):
    data = seed_support_day(make_customer, make_wallet)
    payment = invoice_services.invoice_pay(data["invoice"], actor="user:fiona")
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    targets = {
        "cust": (data["customer"].pk, change_url(data["customer"])),
        "wallet": (data["wallet"].pk, change_url(data["wallet"])),
        "wtxn": (data["transaction"].pk, change_url(data["transaction"])),
        "inv": (data["invoice"].pk, change_url(data["invoice"])),
        "pay": (payment.pk, change_url(data["invoice"])),  # a payment is shown on its invoice
    }
    with browser_page(monkeypatch, width=1280) as page:
        log_in(page, live_server, "root")
        for kind, (object_id, url) in targets.items():
            find(page, object_id)
            expect(page).to_have_url(f"{live_server.url}{url}")
            shoot(page, f"support-day/find-{kind}")
        find(page, "a")  # matches many: the results page
        expect(page.locator("#bo-find-results tbody tr")).not_to_have_count(0)
        fits(page, "find-results")


def test_a_support_task_end_to_end(live_server, monkeypatch, support_groups, make_customer, make_wallet):
    data = seed_support_day(make_customer, make_wallet)
    agent = User.objects.create_user("sam", password=PASSWORD, is_staff=True)
    agent.groups.add(Group.objects.get(name="Support"))
    User.objects.create_superuser("lead", "lead@example.com", PASSWORD)
    wallet = data["wallet"]

    with browser_page(monkeypatch, width=1280) as page:
        # The customer calls: the agent pastes their email into the index's search box.
        log_in(page, live_server, "sam")
        fits(page, "01-index")
        page.fill("#bo-find input[name=q]", LONG_EMAIL)
        page.locator("#bo-find input[type=submit]").click()
        expect(page.locator("#customer-wallets")).to_be_visible()
        expect(page.locator("#customer-expiring tbody tr")).to_have_count(3)  # 5, 12 and 25 days out
        fits(page, "02-customer")

        # Top up the USD wallet from its button on the customer page.
        wallet_row = page.locator("#customer-wallets tbody tr", has=page.locator(f'a[href="{change_url(wallet)}"]'))
        wallet_row.get_by_role("button", name=re.compile(r"^Top up")).click()
        page.fill("#id_credits", "40")
        page.select_option("#id_reason", "FREE_CREDIT_GRANT")
        page.fill("#id_justification", "Outage compensation, ticket #9001")
        page.get_by_role("button", name=re.compile(r"^Review ")).click()
        fits(page, "03-top-up-review")
        page.get_by_role("button", name=re.compile(r"^Confirm: ")).click()

        # Back on the customer page, the new row leads the latest ledger rows.
        expect(page.locator("ul.messagelist li")).to_have_text(["1 topped up"])
        expect(page.locator("#customer-ledger tbody tr").first).to_contain_text("Outage compensation, ticket #9001")
        fits(page, "04-customer-after-top-up")

        # The wallet's id, copied with the button beside it, is the full id.
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.locator(f'#customer-wallets button.bo-copy[data-copy="{wallet.pk}"]').click()
        assert page.evaluate("() => navigator.clipboard.readText()") == wallet.pk
        expect(page.locator(f'#customer-wallets button.bo-copy[data-copy="{wallet.pk}"]')).to_have_class(re.compile("bo-copied"))

        # The team lead finds it in the staff activity log, filtered by staff member, and exports it.
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/admin/login/?next=/admin/backoffice/staffaction/%3Fstaff%3Dsam")
        page.fill("#id_username", "lead")
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list tbody tr")).to_contain_text("Outage compensation, ticket #9001")
        fits(page, "05-activity-log")
        with page.expect_download() as download_info:
            page.locator("a.bo-export").click()
        rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))

    row = WalletTransaction.objects.get(wallet=wallet, description="Outage compensation, ticket #9001")
    assert row.created_by == "user:sam"
    assert [(r["staff"], r["kind"], r["target_id"], r["outcome"]) for r in rows] == [("sam", "top_up", wallet.pk, "done")]
    assert row.pk in StaffAction.objects.get().result
