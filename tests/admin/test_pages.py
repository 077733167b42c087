"""The customer and wallet pages: search, filters, and what the wallet page shows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.admin.flows import WALLETS_URL
from wallets import services
from wallets.admin.display import change_url
from wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db
CUSTOMERS_URL = "/admin/customers/customer/"


def _found(client, url: str, query: str) -> set[str]:
    response = client.get(url, {"q": query} if query else {})
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].queryset}


@pytest.fixture
def people(make_customer):
    return {
        "ada": make_customer(name="Ada Lovelace", email="ada@analytical.example", external_id="crm-ada"),
        "grace": make_customer(name="Grace Hopper", email="grace@navy.example", external_id="crm-grace"),
    }


@pytest.mark.parametrize(
    ("query", "who"),
    [("grace@navy.example", "grace"), ("navy", "grace"), ("Lovelace", "ada"), ("crm-ada", "ada"), ("crm-", None)],
)
def test_customer_search_by_email_name_or_external_id(support, people, query, who):
    assert _found(support, CUSTOMERS_URL, query) == ({people[who].pk} if who else set())


def test_customer_search_by_id(support, people):
    assert _found(support, CUSTOMERS_URL, people["grace"].pk) == {people["grace"].pk}


def test_customer_page_lists_its_wallets_with_links(support, people, make_wallet):
    usd = make_wallet(owner=people["ada"])
    eur = make_wallet(owner=people["ada"], currency="eur")
    services.wallet_top_up(usd, credits=Decimal("12.5"), reason="FREE_CREDIT_GRANT")

    page = support.get(f"{CUSTOMERS_URL}{people['ada'].pk}/change/").content.decode()

    assert f'href="{change_url(usd)}"' in page
    assert f'href="{change_url(eur)}"' in page
    assert "12.5" in page and "12.500000000" not in page
    assert 'name="_save"' not in page  # read-only


@pytest.fixture
def wallets(people, make_wallet):
    ada = make_wallet(owner=people["ada"], alert_settings={"alert_enabled": True, "critical": {"threshold": "5"}})
    grace = make_wallet(owner=people["grace"], currency="eur", wallet_type="PROMOTIONAL")
    services.wallet_top_up(
        grace, credits=Decimal("10"), reason="FREE_CREDIT_GRANT", expiry_date=timezone.now() + timedelta(days=3)
    )
    services.wallet_freeze(grace, reason="check")
    Wallet.objects.filter(pk=ada.pk).update(alert_state=Wallet.AlertState.IN_ALARM)
    return {"ada": ada, "grace": grace}


@pytest.mark.parametrize(
    ("query", "who"),
    [("ada@analytical.example", {"ada"}), ("Hopper", {"grace"}), ("crm-grace", {"grace"}), ("crm-", set())],
)
def test_wallet_search_by_customer_email_name_or_external_id(support, wallets, query, who):
    assert _found(support, WALLETS_URL, query) == {wallets[name].pk for name in who}


def test_wallet_search_by_wallet_id(support, wallets):
    assert _found(support, WALLETS_URL, wallets["grace"].pk) == {wallets["grace"].pk}


@pytest.mark.parametrize(
    ("params", "who"),
    [
        ({"status": "frozen"}, {"grace"}),
        ({"status": "active"}, {"ada"}),
        ({"status": "open"}, {"ada", "grace"}),
        ({"status": "closed"}, set()),
        ({"wallet_type__exact": "PROMOTIONAL"}, {"grace"}),
        ({"currency": "eur"}, {"grace"}),
        ({"alert_state__exact": "in_alarm"}, {"ada"}),
        ({"expiring": "7d"}, {"grace"}),
    ],
)
def test_wallet_filters(support, wallets, params, who):
    response = support.get(WALLETS_URL, params)

    assert {w.pk for w in response.context["cl"].queryset} == {wallets[name].pk for name in who}


def test_wallet_list_shows_balances_status_and_alert_state(support, wallets):
    page = support.get(WALLETS_URL).content.decode()

    assert '<span class="wallet-badge wallet-badge--frozen">Frozen</span>' in page
    assert '<span class="wallet-badge wallet-badge--in_alarm">In Alarm</span>' in page
    assert "grace@navy.example" in page


@pytest.fixture
def busy_wallet(funded_wallet):
    """100 credits, then 59 more ledger rows (60 in all), one lot expiring, a freeze and an unfreeze."""
    for n in range(29):
        services.wallet_debit(funded_wallet, credits=Decimal("1"), idempotency_key=f"use-{n}")
    for n in range(30):
        services.wallet_top_up(
            funded_wallet, credits=Decimal("2"), reason="FREE_CREDIT_GRANT", expiry_date=timezone.now() + timedelta(days=n + 1)
        )
    services.wallet_freeze(funded_wallet, reason="Suspicious usage", actor="user:sam")
    services.wallet_unfreeze(funded_wallet, reason="Customer verified", actor="user:sam")
    return funded_wallet


def test_wallet_page_shows_lots_ledger_chart_and_history(support, busy_wallet):
    response = support.get(f"{WALLETS_URL}{busy_wallet.pk}/change/")
    page = response.content.decode()

    assert response.context["lots_total"] == 31  # what is left of the first grant, and 30 two-credit lots
    assert [lot.credits_available for lot in response.context["lots"][:2]] == [Decimal("2"), Decimal("2")]
    ledger = response.context["ledger"]
    assert ledger.paginator.count == 60
    assert len(ledger.object_list) == 25
    newest = WalletTransaction.objects.filter(wallet=busy_wallet).order_by("-created_at", "-id")[:25]
    assert [row.pk for row in ledger.object_list] == [row.pk for row in newest]
    assert page.count("<circle ") == 60
    assert 'class="wallet-chart"' in page
    assert "Suspicious usage" in page and "Customer verified" in page and "user:sam" in page
    assert "Credit balance" in page and "131" in page  # 100 - 29 + 60


def test_ledger_pages_through_all_rows_newest_first(support, busy_wallet):
    seen = []
    for number in (1, 2, 3):
        ledger = support.get(f"{WALLETS_URL}{busy_wallet.pk}/change/", {"ledger_page": number}).context["ledger"]
        seen += [row.pk for row in ledger.object_list]

    expected = WalletTransaction.objects.filter(wallet=busy_wallet).order_by("-created_at", "-id")
    assert seen == [row.pk for row in expected]


def test_chart_is_bounded_to_the_latest_points(support, busy_wallet, monkeypatch):
    monkeypatch.setattr("wallets.admin.wallet.CHART_POINTS", 10)

    page = support.get(f"{WALLETS_URL}{busy_wallet.pk}/change/").content.decode()

    assert page.count("<circle ") == 10


def test_chart_needs_two_points(support, wallet):
    page = support.get(f"{WALLETS_URL}{wallet.pk}/change/").content.decode()

    assert "Not enough ledger history to draw a chart yet." in page
