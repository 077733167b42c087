"""Expiry reminders in a real browser (Playwright driving Debian's Chromium), as staff meet them.

An admin sees on the customer page that a lot expiring in ten days has its reminder due later,
widens the tenant's reminder window to fourteen days on the tenant's page (a value past a year is
refused, with the reason why), the next sweep sends the reminder, and the customer page says so.
Pages are saved under test-artifacts/screenshots/reminders-<step>.png.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from backoffice.models import StaffAction
from tests.admin.browser import browser_page, shoot
from tests.admin.flows import PASSWORD
from tests.admin.test_browser import log_in
from wallets import services
from wallets.models import CreditExpiryReminder
from wallets.services import reminders

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    with browser_page(monkeypatch) as page:
        yield page


def test_an_admin_widens_the_reminder_window_and_the_customer_page_shows_the_reminder_sent(
    live_server, page, environment, make_customer, make_wallet
):
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    customer = make_customer(name="Ada Lovelace")
    wallet = make_wallet(owner=customer)
    expiry = timezone.now() + timedelta(days=10)
    lot = services.wallet_top_up(wallet, credits=Decimal("40"), reason="FREE_CREDIT_GRANT", expiry_date=expiry).transaction
    assert reminders.credit_expiry_reminders_sweep().reminded == 0  # ten days out: outside the default seven

    log_in(page, live_server, "root")
    customer_url = f"{live_server.url}/admin/customers/customer/{customer.pk}/change/"
    page.goto(customer_url)
    reminder_cell = page.locator("#customer-expiring td.expiry-reminder")
    expect(reminder_cell).to_have_text(f"Due {expiry - timedelta(days=7):%Y-%m-%d %H:%M}")
    shoot(page, "reminders-01-customer-due")

    page.goto(f"{live_server.url}/admin/tenancy/tenant/{environment.tenant_id}/change/")
    days = page.get_by_label("Expiry reminder (days before)")
    expect(days).to_have_value("7")
    days.fill("400")
    page.get_by_label("Reason for the change").fill("Customers asked for two weeks' notice")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errorlist")).to_contain_text("Give a whole number of days from 0 to 365")
    shoot(page, "reminders-02-tenant-refused")

    page.get_by_label("Expiry reminder (days before)").fill("14")
    page.get_by_label("Reason for the change").fill("Customers asked for two weeks' notice")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("ul.messagelist li")).to_contain_text("was changed successfully")
    shoot(page, "reminders-03-tenant-saved")
    entry = StaffAction.objects.get(kind="expiry_reminder_days")
    assert (entry.staff, entry.result) == ("root", "Expiry reminders: 14 days before expiry")

    page.goto(customer_url)
    expect(reminder_cell).to_have_text("At the next sweep")
    assert reminders.credit_expiry_reminders_sweep().reminded == 1
    page.reload()
    sent = CreditExpiryReminder.objects.get(lot=lot).created_at
    expect(reminder_cell).to_have_text(f"Sent {sent:%Y-%m-%d %H:%M}")
    shoot(page, "reminders-04-customer-sent")
