"""Releasing a stuck hold in a real browser (Playwright driving Debian's Chromium), as support does it.

A Support agent opens the wallet, sees the open hold, starts "Release holds…", writes the reason,
reviews what will happen and confirms; the hold is released and the page shows no open hold.
Pages are saved under test-artifacts/screenshots/holds-<step>.png.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from backoffice.models import StaffAction
from tests.admin.browser import browser_page, shoot
from tests.admin.test_browser import expect_message, log_in, review_and_confirm
from wallets import services
from wallets.models import WalletHold
from wallets.services import holds

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    with browser_page(monkeypatch) as page:
        yield page


def test_support_releases_a_stuck_hold(live_server, page, support_groups, make_customer, make_wallet):
    agent = User.objects.create_user("sam", password="correct-horse-battery", is_staff=True)
    agent.groups.add(Group.objects.get(name="Support"))
    wallet = make_wallet(owner=make_customer(name="Ada Lovelace"))
    services.wallet_top_up(wallet, credits=Decimal("100"), reason="FREE_CREDIT_GRANT")
    hold = holds.hold_place(wallet, credits=Decimal("40"), idempotency_key="job-7", description="render job 7").hold

    log_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/admin/wallets/wallet/{wallet.pk}/change/")
    expect(page.locator("#wallet-holds")).to_contain_text(hold.pk)
    expect(page.locator("#wallet-holds")).to_contain_text("render job 7")
    shoot(page, "holds-01-wallet")

    page.get_by_role("button", name="Release holds…").click()
    page.fill("#id_reason", "Render job crashed; ticket #77")
    review_and_confirm(page, "holds-02-release", review_shows=(".wallet-action-wallets", hold.pk))
    expect_message(page, "1 released")
    expect(page.locator("#wallet-holds")).to_contain_text("No open holds.")
    expect(page.get_by_role("button", name="Release holds…")).to_have_count(0)
    shoot(page, "holds-03-released")

    hold.refresh_from_db()
    assert (hold.hold_status, hold.updated_by) == (WalletHold.Status.RELEASED, "user:sam")
    assert StaffAction.objects.get(kind="release_holds").note == "Render job crashed; ticket #77"
