"""The overview on the admin index: each number, and the list it links to."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.admin.flows import WALLETS_URL
from wallets import services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(make_customer, make_wallet):
    now = timezone.now()
    a = make_wallet(owner=make_customer())
    b = make_wallet(owner=make_customer(), conversion_rate=Decimal("0.5"))
    c = make_wallet(owner=make_customer(), currency="eur")
    closed = make_wallet(owner=make_customer())
    services.wallet_top_up(a, credits=Decimal("100"), reason="FREE_CREDIT_GRANT", expiry_date=now + timedelta(days=2))
    services.wallet_top_up(a, credits=Decimal("5"), reason="FREE_CREDIT_GRANT", expiry_date=now + timedelta(days=30))
    services.wallet_top_up(b, credits=Decimal("20.25"), reason="FREE_CREDIT_GRANT", expiry_date=now + timedelta(days=6))
    services.wallet_top_up(c, credits=Decimal("7"), reason="FREE_CREDIT_GRANT", expiry_date=now + timedelta(days=1))
    services.wallet_top_up(closed, credits=Decimal("1000"), reason="FREE_CREDIT_GRANT")
    services.wallet_terminate(closed, reason="gone")
    services.wallet_freeze(c, reason="check")
    Wallet.objects.filter(pk__in=[b.pk, closed.pk]).update(alert_state=Wallet.AlertState.IN_ALARM)
    return {"a": a, "b": b, "c": c}


def test_overview_numbers(support, book):
    overview = support.get("/admin/").context["overview"]

    assert [(t.currency, t.credits, t.value, t.wallets) for t in overview.outstanding] == [
        ("eur", Decimal("7"), Decimal("7"), 1),
        ("usd", Decimal("125.25"), Decimal("115.125"), 2),
    ]
    assert [(t.currency, t.credits, t.wallets) for t in overview.expiring] == [
        ("eur", Decimal("7"), 1),
        ("usd", Decimal("120.25"), 2),
    ]
    assert overview.in_alarm == 1  # the closed wallet in alarm does not count
    assert overview.frozen == 1


def test_each_number_links_to_the_wallets_it_counts(support, book):
    page = support.get("/admin/").content.decode()
    links = {
        f"{WALLETS_URL}?status=open&amp;currency=usd": {"a", "b"},
        f"{WALLETS_URL}?expiring=7d&amp;currency=usd": {"a", "b"},
        f"{WALLETS_URL}?expiring=7d&amp;currency=eur": {"c"},
        f"{WALLETS_URL}?status=open&amp;alert_state__exact=in_alarm": {"b"},
        f"{WALLETS_URL}?status=frozen": {"c"},
    }
    for href, names in links.items():
        assert f'href="{href}"' in page
        listed = support.get(href.replace("&amp;", "&")).context["cl"].queryset
        assert {w.pk for w in listed} == {book[name].pk for name in names}, href
    assert "125.25" in page and "115.125" in page


def test_staff_without_wallet_access_see_no_overview(make_staff, client, book):
    client.force_login(make_staff("nobody"))

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "support-overview" not in response.content.decode()
