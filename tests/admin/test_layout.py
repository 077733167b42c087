"""The support pages fit common screen widths: no sideways scrolling, in a real browser.

Each page is opened in Debian's Chromium at 1280, 1440 and 1920 px wide with long, realistic names,
ids and amounts, photographed (test-artifacts/screenshots/layout/<width>/<page>.png) and measured:
the document must not be wider than the window. The negative control proves the measure can fail.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.utils import timezone

from backoffice import approvals
from invoices.models import Invoice
from tenancy.models import Tenant
from tests.admin.browser import browser_page, horizontal_overflow, log_in, shoot
from tests.admin.flows import PASSWORD
from wallets import services
from wallets.models import Wallet, WalletTransaction

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LONG_NAME = "Maximiliana Alexandrina Featherstonehaugh-Cholmondeley, Very Long Trading Company GmbH & Co. KG"
LONG_EMAIL = "maximiliana.featherstonehaugh-cholmondeley@accounts-payable.very-long-trading-company.example"
LONG_EXTERNAL_ID = "crm-account-000000123456789-eu-west-1-tenant-acme"


def seed_support_day(make_customer, make_wallet) -> dict:
    """A customer with long names, three wallets, lots expiring soon, a debit and an open invoice."""
    make_customer(name="Grace Hopper", email="grace@navy.example")
    customer = make_customer(name=LONG_NAME, email=LONG_EMAIL, external_id=LONG_EXTERNAL_ID)
    usd = make_wallet(owner=customer, name="Prepaid credits for the production API, invoiced monthly")
    eur = make_wallet(owner=customer, currency="eur", name="Compensation credits")
    frozen = make_wallet(owner=customer, currency="gbp", name="Old wallet")
    now = timezone.now()
    for days in (5, 12, 25, 90):
        services.wallet_top_up(
            usd,
            credits=Decimal("12345678.123456789"),
            reason="FREE_CREDIT_GRANT",
            expiry_date=now + timedelta(days=days),
            description="Promotional credits " * 6,
        )
    services.wallet_debit(
        usd,
        credits=Decimal("1234.5"),
        idempotency_key="usage-2026-12-04-batch-000000000001",
        description="Usage for the first week of December",
    )
    services.wallet_top_up(eur, credits=Decimal("500"), reason="FREE_CREDIT_GRANT")
    purchase = services.wallet_top_up(usd, credits=Decimal("250"), reason="PURCHASED_CREDIT_INVOICED")
    services.wallet_freeze(frozen, reason="Card reported stolen", actor="user:sam")
    return {
        "customer": customer,
        "wallet": usd,
        "transaction": WalletTransaction.objects.filter(wallet=usd).order_by("-created_at").first(),
        "invoice": Invoice.objects.get(pk=purchase.invoice_id),
    }


def seed_approval(wallet: Wallet):
    """A large top-up waiting for a second staff member (four eyes), with a long reason."""
    Tenant.objects.filter(pk=wallet.tenant_id).update(approval_threshold_credits=Decimal("1000"))
    wallet.refresh_from_db()
    return approvals.request_approval(
        wallet,
        operation="top_up",
        arguments={"credits": "12345678.123456789", "reason": "FREE_CREDIT_GRANT", "description": LONG_NAME},
        note="Contract renewal for the production API, signed by both parties " * 5,
        user=User.objects.create_user("layout-requester", password=PASSWORD, is_staff=True),
        request_key="layout-approval",
    ).approval


def support_pages(data: dict) -> dict[str, str]:
    """page name -> admin path, for every page support staff live in."""
    return {
        "index": "/admin/",
        "wallet-list": "/admin/wallets/wallet/",
        "wallet": f"/admin/wallets/wallet/{data['wallet'].pk}/change/",
        "customer-list": "/admin/customers/customer/",
        "customer": f"/admin/customers/customer/{data['customer'].pk}/change/",
        "transaction-list": "/admin/wallets/wallettransaction/",
        "transaction": f"/admin/wallets/wallettransaction/{data['transaction'].pk}/change/",
        "transfer-list": "/admin/wallets/wallettransfer/",
        "invoice-list": "/admin/invoices/invoice/",
        "invoice": f"/admin/invoices/invoice/{data['invoice'].pk}/change/",
        "find-results": "/admin/find/?q=a",
        "activity-log": "/admin/backoffice/staffaction/",
        "approval-list": "/admin/backoffice/approvalrequest/",
        "approval": f"/admin/backoffice/approvalrequest/{quote(data['approval'].pk)}/change/",
    }


@pytest.mark.parametrize("width", [1280, 1440, 1920])
def test_support_pages_fit_the_window(width, live_server, monkeypatch, make_customer, make_wallet):
    data = seed_support_day(make_customer, make_wallet)
    data["approval"] = seed_approval(data["wallet"])
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    overflowing = {}
    with browser_page(monkeypatch, width=width) as page:
        log_in(page, live_server, "root")
        for name, path in support_pages(data).items():
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, (name, response.status)
            shoot(page, f"layout/{width}/{name}")
            if overflow := horizontal_overflow(page):
                overflowing[name] = overflow
    assert overflowing == {}, f"pages wider than {width} px (extra px): {overflowing}"


def test_the_overflow_check_catches_a_page_that_is_too_wide(live_server, monkeypatch, make_customer, make_wallet):
    """Negative control: the same measure reports a page once an element wider than the window is in it."""
    seed_support_day(make_customer, make_wallet)
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    with browser_page(monkeypatch, width=1280) as page:
        log_in(page, live_server, "root")
        page.goto(f"{live_server.url}/admin/wallets/wallet/")
        page.evaluate(
            "() => { const cell = document.querySelector('#result_list tbody td');"
            " cell.textContent = 'wallet_' + 'X'.repeat(400); cell.style.whiteSpace = 'nowrap'; }"
        )
        shoot(page, "layout/negative-control")
        assert horizontal_overflow(page)
