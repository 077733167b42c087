"""The invoice and payment routes: shapes, the lifecycle over HTTP, refusals and scoping."""

from decimal import Decimal

import pytest

from invoices.models import Invoice
from wallets.models import Wallet

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def purchase(api_client, wallet):
    response = api_client.post(
        f"/v1/wallets/{wallet.id}/top-up",
        {"credits_to_add": "100", "transaction_reason": "PURCHASED_CREDIT_INVOICED", "idempotency_key": "buy-1"},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_top_up_answers_with_the_invoice_id_and_a_pending_transaction(purchase, wallet):
    assert purchase["invoice_id"].startswith("inv_")
    assert purchase["wallet_transaction"]["transaction_status"] == "pending"
    assert purchase["wallet"]["credit_balance"] == "0"


def test_get_invoice_shape(api_client, purchase):
    body = api_client.get(f"/v1/invoices/{purchase['invoice_id']}").json()
    assert body["invoice_status"] == "FINALIZED" and body["payment_status"] == "PENDING"
    assert body["amount_due"] == "100" and body["amount_remaining"] == "100" and body["amount_paid"] == "0"
    assert body["line_items"][0]["display_name"] == "Purchase 100 credits"
    assert body["wallet_transaction_id"] == purchase["wallet_transaction"]["id"]


def test_payment_completes_the_credit_and_a_second_is_refused(api_client, purchase, wallet):
    pay = {
        "amount": "100",
        "currency": "USD",
        "destination_id": purchase["invoice_id"],
        "destination_type": "INVOICE",
        "payment_method_type": "OFFLINE",
    }
    first = api_client.post("/v1/payments", pay, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["payment_status"] == "SUCCEEDED" and first.json()["amount"] == "100"
    second = api_client.post("/v1/payments", pay, format="json")
    assert second.status_code == 400 and second.json()["code"] == "invalid_operation"
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("100")
    invoice = api_client.get(f"/v1/invoices/{purchase['invoice_id']}").json()
    assert invoice["payment_status"] == "SUCCEEDED" and invoice["amount_remaining"] == "0"


def test_void_then_pay_is_refused(api_client, purchase, wallet):
    voided = api_client.post(f"/v1/invoices/{purchase['invoice_id']}/void")
    assert voided.status_code == 200 and voided.json()["invoice_status"] == "VOIDED"
    pay = {
        "amount": "100",
        "currency": "usd",
        "destination_id": purchase["invoice_id"],
        "destination_type": "INVOICE",
        "payment_method_type": "OFFLINE",
    }
    assert api_client.post("/v1/payments", pay, format="json").status_code == 400
    assert api_client.post(f"/v1/invoices/{purchase['invoice_id']}/void").status_code == 400
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == 0


@pytest.mark.parametrize(
    "change, field",
    [
        ({"amount": "99"}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"amount": "abc"}, "amount"),
        ({"destination_type": "CUSTOMER"}, "destination_type"),
        ({"payment_method_type": "CREDITS"}, "payment_method_type"),
    ],
)
def test_bad_payments_are_400_naming_the_field_and_change_nothing(api_client, purchase, change, field):
    pay = {
        "amount": "100",
        "currency": "usd",
        "destination_id": purchase["invoice_id"],
        "destination_type": "INVOICE",
        "payment_method_type": "OFFLINE",
        **change,
    }
    response = api_client.post("/v1/payments", pay, format="json")
    assert response.status_code == 400
    assert field in response.json()["message"]
    assert Invoice.objects.get(pk=purchase["invoice_id"]).payment_status == "PENDING"


def test_search_filters_by_status_and_wallet(api_client, purchase, wallet):
    body = api_client.post("/v1/invoices/search", {"payment_status": ["PENDING"], "wallet_id": wallet.id}, format="json").json()
    assert [item["id"] for item in body["items"]] == [purchase["invoice_id"]]
    assert body["pagination"] == {"total": 1, "limit": 50, "offset": 50}
    assert api_client.post("/v1/invoices/search", {"payment_status": ["SUCCEEDED"]}, format="json").json()["items"] == []
    assert api_client.post("/v1/invoices/search", {"payment_status": ["NOPE"]}, format="json").status_code == 400


def test_other_tenants_cannot_see_or_pay(other_tenant_client, purchase):
    assert other_tenant_client.get(f"/v1/invoices/{purchase['invoice_id']}").status_code == 404
    pay = {
        "amount": "100",
        "currency": "usd",
        "destination_id": purchase["invoice_id"],
        "destination_type": "INVOICE",
        "payment_method_type": "OFFLINE",
    }
    assert other_tenant_client.post("/v1/payments", pay, format="json").status_code == 404
    assert other_tenant_client.post(f"/v1/invoices/{purchase['invoice_id']}/void").status_code == 404
    assert Invoice.objects.get(pk=purchase["invoice_id"]).invoice_status == "FINALIZED"


def test_read_only_key_can_search_but_not_pay(read_only_client, purchase):
    assert read_only_client.post("/v1/invoices/search", {}, format="json").status_code == 200
    assert read_only_client.post(f"/v1/invoices/{purchase['invoice_id']}/void").status_code == 403
