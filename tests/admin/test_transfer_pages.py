"""The transfers' pages (wallets.admin.transfers): the read-only list with its filters, search and
CSV export, each transfer's page with its ledger rows and the lots it moved, and who may see them."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wallets import services
from wallets.admin.display import change_url
from wallets.models import WalletTransaction, WalletTransfer

pytestmark = pytest.mark.django_db
TRANSFERS_URL = "/admin/wallets/wallettransfer/"


@pytest.fixture
def transfers(make_customer, make_wallet):
    """Ada moves 30 USD credits taken from two lots, and 2 EUR credits; Grace moves 1 USD credit."""
    ada = make_customer(name="Ada Lovelace", external_id="crm-ada")
    usd, usd_promo = make_wallet(owner=ada, name="Main"), make_wallet(owner=ada, wallet_type="PROMOTIONAL", name="Promo")
    eur, eur_promo = make_wallet(owner=ada, currency="eur"), make_wallet(owner=ada, currency="eur", wallet_type="PROMOTIONAL")
    expiry = (timezone.now() + timedelta(days=40)).replace(microsecond=0)
    first = services.wallet_top_up(usd, credits=Decimal("20"), reason="PURCHASED_CREDIT_DIRECT", priority=1, expiry_date=expiry)
    second = services.wallet_top_up(usd, credits=Decimal("50"), reason="FREE_CREDIT_GRANT")
    services.wallet_top_up(eur, credits=Decimal("5"), reason="FREE_CREDIT_GRANT")
    moved = services.wallet_transfer(
        usd, usd_promo, credits=Decimal("30"), idempotency_key="move-ticket-77", description="ticket 77", actor="user:fiona"
    ).transfer
    euros = services.wallet_transfer(eur, eur_promo, credits=Decimal("2"), idempotency_key="move-eur", actor="=1+2").transfer
    grace = make_customer(name="Grace Hopper", external_id="crm-grace")
    g_usd, g_promo = make_wallet(owner=grace), make_wallet(owner=grace, wallet_type="PROMOTIONAL")
    services.wallet_top_up(g_usd, credits=Decimal("3"), reason="FREE_CREDIT_GRANT")
    other = services.wallet_transfer(g_usd, g_promo, credits=Decimal("1"), idempotency_key="move-grace").transfer
    return {
        "ada": ada,
        "usd": usd,
        "usd_promo": usd_promo,
        "moved": moved,
        "euros": euros,
        "other": other,
        "lots": [first.transaction, second.transaction],
        "expiry": expiry,
    }


def _listed(client, **params) -> list[str]:
    response = client.get(TRANSFERS_URL, params)
    assert response.status_code == 200
    return [transfer.pk for transfer in response.context["cl"].result_list]


def test_the_list_shows_each_transfer_with_both_wallets_credits_and_actor(support, transfers):
    moved = transfers["moved"]
    response = support.get(TRANSFERS_URL)
    page = response.content.decode()
    assert _listed(support) == [transfers["other"].pk, transfers["euros"].pk, moved.pk]  # newest first
    for url in (change_url(moved), change_url(transfers["usd"]), change_url(transfers["usd_promo"])):
        assert f'href="{url}"' in page
    assert "30&nbsp;credits" in page and "user:fiona" in page
    assert 'class="bo-export"' in page  # Support may export the ledger


@pytest.mark.parametrize(
    ("param", "found"),
    [("currency", "eur"), ("created_at__gte", "future"), ("created_at__gte", "today")],
)
def test_the_list_filters_by_currency_and_date(support, transfers, param, found):
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)  # as the date filter's links
    value = {"eur": "eur", "future": str(today + timedelta(days=2)), "today": str(today)}[found]
    expected = {"eur": ["euros"], "future": [], "today": ["other", "euros", "moved"]}[found]
    assert _listed(support, **{param: value}) == [transfers[name].pk for name in expected]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("transfer id", ["moved"]),
        ("from wallet", ["moved"]),
        ("to wallet", ["moved"]),
        ("customer id", ["euros", "moved"]),
        ("crm-ada", ["euros", "moved"]),
        ("move-ticket-77", ["moved"]),
        ("crm-nobody", []),
    ],
)
def test_the_list_finds_a_transfer_by_id_wallet_customer_or_idempotency_key(support, transfers, query, found):
    moved = transfers["moved"]
    q = {
        "transfer id": moved.pk,
        "from wallet": moved.from_wallet_id,
        "to wallet": moved.to_wallet_id,
        "customer id": transfers["ada"].pk,
    }.get(query, query)
    assert _listed(support, q=q) == [transfers[name].pk for name in found]


def test_the_list_reads_the_same_number_of_queries_however_many_transfers(support, transfers):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            support.get(TRANSFERS_URL)
        return len(captured)

    three = queries()
    usd, promo = transfers["usd"], transfers["usd_promo"]
    for n in range(4):
        services.wallet_transfer(usd, promo, credits=Decimal("1"), idempotency_key=f"more-{n}")
    assert len(_listed(support)) == 7
    assert queries() == three


def test_a_transfer_page_links_its_debit_its_credits_and_the_lots_it_moved(support, transfers):
    moved = transfers["moved"]
    credits = list(WalletTransaction.objects.filter(parent_transaction=moved.debit).order_by("sequence"))
    assert len(credits) == 2  # the debit took two lots: the purchased one (priority 1) first
    response = support.get(change_url(moved))
    assert response.status_code == 200
    page = response.content.decode()
    assert "move-ticket-77" in page and "ticket 77" in page and "Ada Lovelace" in page
    rows = page.split('class="wallet-transfer-rows"')[1].split("</table>")[0]
    for row in (moved.debit, *credits):
        assert f'href="{change_url(row)}"' in rows
    assert "Transfer out" in rows and "Transfer in purchased" in rows and "−30" in rows
    lots = page.split('class="wallet-transfer-lots"')[1].split("</table>")[0].split("<tr>")[2:]
    first, second = transfers["lots"]
    assert f'href="{change_url(first)}"' in lots[0] and f'href="{change_url(credits[0])}"' in lots[0]
    assert transfers["expiry"].strftime("%Y-%m-%d %H:%M") in lots[0] and "<td>1</td>" in lots[0]
    assert f'href="{change_url(second)}"' in lots[1] and f'href="{change_url(credits[1])}"' in lots[1]
    assert "Never" in lots[1]
    # The ledger row page links back to the transfer's page.
    assert f'href="{change_url(moved)}"' in support.get(change_url(moved.debit)).content.decode()


def test_the_export_holds_the_filtered_rows_with_formulas_neutralised(support, transfers):
    response = support.get(f"{TRANSFERS_URL}export.csv", {"q": transfers["ada"].pk})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["id"] for row in rows] == [transfers["euros"].pk, transfers["moved"].pk]
    euros, moved = rows
    assert euros["created_by"] == "'=1+2"  # a spreadsheet shows it, does not run it
    assert euros["from_wallet__currency"] == "eur"
    assert (moved["credits"], moved["debit__idempotency_key"], moved["customer__external_id"]) == (
        "30",
        "move-ticket-77",
        "crm-ada",
    )
    assert moved["created_at"].endswith("Z")


def test_only_staff_with_the_view_permission_see_transfers_and_nobody_edits_them(make_staff, viewer, finance, transfers):
    moved = transfers["moved"]
    assert viewer.get(TRANSFERS_URL).status_code == 403  # may view ledger rows, not transfers
    assert viewer.get(change_url(moved)).status_code == 403
    assert viewer.get(f"{TRANSFERS_URL}export.csv").status_code == 403
    assert finance.get(change_url(moved)).status_code == 200
    assert finance.get(f"{TRANSFERS_URL}add/").status_code == 403
    assert finance.post(f"{TRANSFERS_URL}{moved.pk}/delete/").status_code == 403
    assert 'name="_save"' not in finance.get(change_url(moved)).content.decode()

    # Viewing transfers without the ledger export: the list, but neither the link nor the file.
    looker = Client()
    looker.force_login(make_staff("lou", permissions=("wallets.view_wallettransfer",)))
    assert 'class="bo-export"' not in looker.get(TRANSFERS_URL).content.decode()
    assert looker.get(f"{TRANSFERS_URL}export.csv").status_code == 403
    assert WalletTransfer.objects.count() == 3
