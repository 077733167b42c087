"""The one search box: any id, a customer's external id, email or name, an idempotency key or an
invoice number; one match opens the object, several are listed; only what the user may view."""

from decimal import Decimal

import pytest

from invoices import services as invoice_services
from invoices.models import Invoice
from wallets import services
from wallets.admin.display import change_url
from wallets.services import holds

pytestmark = pytest.mark.django_db
FIND_URL = "/admin/find/"


@pytest.fixture
def things(make_customer, make_wallet):
    ada = make_customer(name="Augusta Ada King", email="ada@analytical.example", external_id="crm-ada")
    byron = make_customer(name="Augusta Byron", email="byron@example.com", external_id="crm-byron")
    wallet = make_wallet(owner=ada)
    top_up = services.wallet_top_up(wallet, credits=Decimal("10"), reason="FREE_CREDIT_GRANT", idempotency_key="grant-ticket-77")
    purchase = services.wallet_top_up(wallet, credits=Decimal("5"), reason="PURCHASED_CREDIT_INVOICED")
    invoice = Invoice.objects.get(pk=purchase.invoice_id)
    payment = invoice_services.invoice_pay(invoice, actor="user:fiona")
    return {"ada": ada, "byron": byron, "wallet": wallet, "row": top_up.transaction, "invoice": invoice, "payment": payment}


def _opens(client, query) -> str:
    response = client.get(FIND_URL, {"q": query})
    assert response.status_code == 302, (query, response.status_code)
    return response["Location"]


@pytest.mark.parametrize("kind", ["ada", "wallet", "row", "invoice"])
def test_an_id_of_each_kind_opens_its_page(superuser_client, things, kind):
    assert _opens(superuser_client, things[kind].pk) == change_url(things[kind])


def test_a_payment_id_opens_its_invoice(superuser_client, things):
    assert _opens(superuser_client, things["payment"].pk) == change_url(things["invoice"])


@pytest.mark.parametrize("query", ["crm-ada", "ADA@analytical.example", "  ada king "])
def test_a_customer_by_external_id_email_or_name(superuser_client, things, query):
    assert _opens(superuser_client, query) == change_url(things["ada"])


def test_an_idempotency_key_of_a_ledger_row_or_an_invoice(superuser_client, things):
    assert _opens(superuser_client, "grant-ticket-77") == change_url(things["row"])
    assert _opens(superuser_client, things["invoice"].invoice_number) == change_url(things["invoice"])
    # A purchase's invoice and its pending credit share the key: both are listed.
    page = superuser_client.get(FIND_URL, {"q": things["invoice"].idempotency_key})
    assert {(hit.kind, hit.object_id) for hit in page.context["hits"]} == {
        ("Invoice", things["invoice"].pk),
        ("Wallet transaction", things["invoice"].wallet_transaction_id),
    }


def test_several_matches_are_listed_with_what_they_matched(superuser_client, things):
    page = superuser_client.get(FIND_URL, {"q": "augusta"})

    assert page.status_code == 200
    assert [(hit.object_id, hit.matched) for hit in page.context["hits"]] == [
        (things["ada"].pk, "name"),
        (things["byron"].pk, "name"),  # by name
    ]
    assert f'href="{change_url(things["ada"])}"' in page.content.decode()


def test_nothing_found_says_so(superuser_client, things):
    page = superuser_client.get(FIND_URL, {"q": "wallet_01NOSUCHWALLET"})
    assert page.status_code == 200 and "Nothing found" in page.content.decode()


@pytest.mark.parametrize("query", ["\x00", "crm-ada\x00", "cust_\x00", "wallet_01\x00X", "inv_a\x00"])
def test_a_query_holding_a_nul_matches_nothing_and_says_why(superuser_client, things, query):
    # PostgreSQL text cannot hold NUL: sent to the database, the query failed with a DataError (500).
    page = superuser_client.get(FIND_URL, {"q": query})
    assert page.status_code == 200 and page.context["hits"] == []
    assert "The search must not contain NUL characters, so it matches nothing." in page.content.decode()


def test_a_query_longer_than_any_searched_column_matches_nothing_and_says_why(superuser_client, things):
    page = superuser_client.get(FIND_URL, {"q": "a" * 256})
    assert page.status_code == 200 and page.context["hits"] == []
    assert "The search must be at most 255 characters, so it matches nothing." in page.content.decode()


def test_only_what_the_user_may_view_is_found(viewer, things):
    """The viewer may see customers, wallets and ledger rows, not invoices."""
    assert _opens(viewer, things["wallet"].pk) == change_url(things["wallet"])
    for query in (things["invoice"].pk, things["payment"].pk, things["invoice"].invoice_number):
        page = viewer.get(FIND_URL, {"q": query})
        assert page.status_code == 200 and page.context["hits"] == [], query


@pytest.fixture
def transfer(things, make_wallet):
    promo = make_wallet(owner=things["ada"], wallet_type="PROMOTIONAL")
    return services.wallet_transfer(things["wallet"], promo, credits=Decimal("4"), idempotency_key="move-4").transfer


def test_a_transfer_id_opens_the_transfer_page(support, transfer):
    assert _opens(support, transfer.pk) == change_url(transfer)
    assert change_url(transfer).startswith("/admin/wallets/wallettransfer/")
    assert support.get(change_url(transfer)).status_code == 200


def test_a_transfer_id_finds_nothing_for_staff_who_may_not_view_transfers(viewer, transfer):
    page = viewer.get(FIND_URL, {"q": transfer.pk})
    assert page.status_code == 200 and page.context["hits"] == []


def test_a_hold_id_opens_its_row_on_the_wallet_page(viewer, things):
    hold = holds.hold_place(things["wallet"], credits=Decimal("3"), idempotency_key="job-1").hold
    assert _opens(viewer, hold.pk) == f"{change_url(things['wallet'])}#hold-{hold.pk}"


def test_the_search_box_is_behind_the_staff_login(client, things):
    response = client.get(FIND_URL, {"q": things["wallet"].pk})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_index_has_the_search_box(support):
    page = support.get("/admin/").content.decode()
    assert 'id="bo-find"' in page and f'action="{FIND_URL}"' in page
