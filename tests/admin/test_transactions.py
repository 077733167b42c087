"""The ledger in the admin: read-only for everyone, filters, search, and the CSV export."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.utils import timezone

from tests.admin.flows import TRANSACTIONS_URL
from wallets import services
from wallets.admin.export import COLUMNS
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db
EXPORT_URL = f"{TRANSACTIONS_URL}export.csv"


@pytest.fixture
def ledger(wallet, make_customer, make_wallet, credit):
    """Two wallets in two currencies with credits, debits and an expiry-dated lot."""
    usd = wallet
    eur = make_wallet(owner=make_customer(email="bob@example.com"), currency="eur", conversion_rate=Decimal("2"))
    credit(100, usd)
    credit("12.5", usd, reason="PURCHASED_CREDIT_DIRECT", idempotency_key="order-77", description="=cmd|' /C calc'!A0")
    credit(40, eur, expiry_date=timezone.now() + timedelta(days=3))
    services.wallet_debit(usd, credits=Decimal("0.25"), idempotency_key="usage-1", reason="INVOICE_PAYMENT")
    services.wallet_debit(eur, credits=Decimal("50"), idempotency_key="usage-2")
    return {"usd": usd, "eur": eur}


def _listed(client, query: str = "") -> list[str]:
    response = client.get(f"{TRANSACTIONS_URL}?{query}")
    assert response.status_code == 200
    return [row.pk for row in response.context["cl"].queryset]


def _exported(client, query: str = "") -> list[dict]:
    response = client.get(f"{EXPORT_URL}?{query}")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="wallet-transactions-')
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def test_list_is_newest_first(support, ledger):
    expected = list(WalletTransaction.objects.order_by("-created_at", "-id").values_list("pk", flat=True))

    assert _listed(support) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type__exact=debit", {"type": "debit"}),
        ("transaction_reason__exact=PURCHASED_CREDIT_DIRECT", {"transaction_reason": "PURCHASED_CREDIT_DIRECT"}),
        ("transaction_status__exact=completed", {"transaction_status": "completed"}),
        ("currency=eur", {"currency": "eur"}),
        ("currency=usd&type__exact=credit", {"currency": "usd", "type": "credit"}),
        ("q=order-77", {"idempotency_key": "order-77"}),
        ("q=usage-2", {"reference_id": "usage-2"}),
    ],
)
def test_filters_and_search_narrow_the_list(support, ledger, query, expected):
    listed = _listed(support, query)

    assert listed
    assert set(listed) == set(WalletTransaction.objects.filter(**expected).values_list("pk", flat=True))


def test_search_by_transaction_id(support, ledger):
    row = WalletTransaction.objects.filter(type="debit").first()

    assert _listed(support, f"q={row.pk}") == [row.pk]


def test_date_filter(support, ledger):
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = today + timedelta(days=1)

    def since(moment):
        return f"created_at__gte={quote(str(moment))}"

    assert len(_listed(support, f"{since(today)}&created_at__lt={quote(str(tomorrow))}")) == 5
    assert _listed(support, since(tomorrow)) == []


@pytest.mark.parametrize(
    "query", ["", "currency=usd", "type__exact=credit&currency=eur", "q=usage-1", "transaction_reason__exact=CREDIT_NOTE", "o=7"]
)
def test_csv_export_holds_exactly_the_filtered_list(support, ledger, query):
    listed = _listed(support, query)

    exported = _exported(support, query)

    assert [row["id"] for row in exported] == listed


def test_csv_cells_are_the_ledger_columns_with_decimals_as_strings(support, ledger):
    (row,) = _exported(support, "q=usage-1")
    stored = WalletTransaction.objects.get(idempotency_key="usage-1")

    assert row["credit_amount"] == "0.25"
    assert row["credit_balance_before"] == "112.5"
    assert row["credit_balance_after"] == "112.25"
    assert row["amount"] == "0.25"
    assert row["type"] == "debit"
    assert row["wallet_id"] == ledger["usd"].pk
    assert row["customer_id"] == ledger["usd"].customer_id
    assert row["created_at"] == stored.created_at.isoformat().replace("+00:00", "Z")
    assert row["expiry_date"] == ""
    assert row["metadata"] == '{{"consumed_credit_tx_ids":"{}"}}'.format(stored.metadata["consumed_credit_tx_ids"])


def test_csv_neutralises_spreadsheet_formulas(support, ledger):
    (row,) = _exported(support, "q=order-77")

    assert row["description"] == "'=cmd|' /C calc'!A0"


def test_list_page_links_the_export_with_the_current_filters(support, viewer, ledger):
    page = support.get(f"{TRANSACTIONS_URL}?currency=usd").content.decode()

    assert f'href="{EXPORT_URL}?currency=usd"' in page
    assert "Export 3 filtered rows as CSV" in page
    assert "export.csv" not in viewer.get(TRANSACTIONS_URL).content.decode()


def test_export_needs_its_permission(viewer, ledger):
    assert viewer.get(EXPORT_URL).status_code == 403


def test_export_with_an_unknown_filter_is_a_400(support, ledger):
    assert support.get(f"{EXPORT_URL}?wallet__customer__email=x").status_code == 400


def test_transactions_are_read_only_even_for_a_superuser(superuser_client, ledger):
    row = WalletTransaction.objects.first()
    url = f"{TRANSACTIONS_URL}{row.pk}/"

    assert superuser_client.get(f"{url}change/").status_code == 200  # the read-only view
    assert superuser_client.get(f"{TRANSACTIONS_URL}add/").status_code == 403
    assert superuser_client.post(f"{url}change/", {"credit_amount": "999", "description": "edited"}).status_code == 403
    assert superuser_client.get(f"{url}delete/").status_code == 403
    assert superuser_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    changelist = superuser_client.get(TRANSACTIONS_URL)
    assert changelist.context["action_form"] is None  # no bulk delete either
    assert changelist.context["has_add_permission"] is False
    row.refresh_from_db()
    assert row.description != "edited"
    assert WalletTransaction.objects.count() == 5
