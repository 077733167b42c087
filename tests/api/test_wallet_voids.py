"""POST /v1/wallets/transactions/{id}/void and /refund, and the credit notes on GET /v1/invoices/{id}.

Every response is checked against the OpenAPI document (tests.api.test_wallet_contract.call).
"""

from decimal import Decimal

import pytest

from invoices.models import Invoice
from invoices.services import invoice_pay
from tenancy.services import environment_get_or_create
from tests.api.test_wallet_contract import assert_decimals_are_strings, assert_error, call
from wallets import services
from wallets.models import WalletTransaction

pytestmark = pytest.mark.django_db

D = Decimal


def _void_url(lot_id: str, what: str = "void") -> str:
    return f"/v1/wallets/transactions/{lot_id}/{what}"


def _body(**fields):
    return {"reason": "granted twice", "idempotency_key": "void-1", **fields}


def _paid_lot(wallet, credits="10"):
    result = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D(credits))
    invoice_pay(Invoice.objects.get(pk=result.invoice_id))
    return result.transaction, result.invoice_id


def test_void_answers_the_debit_and_the_wallet(api_client, wallet, credit):
    lot = credit("30")
    credit("5")
    services.wallet_debit(wallet, credits=D("12"), idempotency_key="spend", reason="INVOICE_PAYMENT")
    data = call(api_client, "post", _void_url(lot.id), _body(metadata={"ticket": "T-1"}))
    assert_decimals_are_strings(data)
    row = data["wallet_transaction"]
    assert (row["type"], row["transaction_reason"], row["credit_amount"], row["parent_transaction_id"]) == (
        "debit", "CREDIT_VOID", "18", lot.id,
    )  # fmt: skip
    assert (row["description"], row["idempotency_key"], row["metadata"]["ticket"]) == ("granted twice", "void-1", "T-1")
    assert (data["wallet"]["id"], data["wallet"]["credit_balance"]) == (wallet.id, "5")
    assert WalletTransaction.objects.get(pk=lot.id).credits_available == 0


def test_replay_answers_the_same_and_a_changed_body_is_409(api_client, credit):
    lot = credit("10")
    first = call(api_client, "post", _void_url(lot.id), _body())
    again = call(api_client, "post", _void_url(lot.id), _body())
    assert again["wallet_transaction"]["id"] == first["wallet_transaction"]["id"]
    assert again["wallet"]["credit_balance"] == first["wallet"]["credit_balance"] == "0"
    data = call(api_client, "post", _void_url(lot.id), _body(reason="other"), status=409)
    assert_error(data, "already_exists", 409)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"idempotency_key": "k"}, "reason"),
        ({"reason": "x"}, "idempotency_key"),
        (_body(reason=""), "reason"),
        (_body(reason="   "), "reason"),
        (_body(reason=5), "reason"),
        (_body(idempotency_key=""), "idempotency_key"),
        (_body(idempotency_key="k" * 256), "idempotency_key"),
        (_body(metadata={"a": 1}), "metadata"),
        (_body(metadata=[]), "metadata"),
    ],
)
def test_bad_bodies_are_400_naming_the_field_and_change_nothing(api_client, credit, body, field):
    lot = credit("10")
    data = call(api_client, "post", _void_url(lot.id), body, status=400)
    assert_error(data, "validation_error", 400)
    assert field in data["details"]["field"]
    assert WalletTransaction.objects.get(pk=lot.id).credits_available == D("10")


def test_refusals_are_400_invalid_operation_saying_why(api_client, wallet, credit):
    lot = credit("10")
    services.wallet_debit(wallet, credits=D("10"), idempotency_key="spend", reason="INVOICE_PAYMENT")
    data = call(api_client, "post", _void_url(lot.id), _body(), status=400)
    assert_error(data, "invalid_operation", 400, message="nothing left to void")
    pending = services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("3")).transaction
    data = call(api_client, "post", _void_url(pending.id), _body(idempotency_key="void-2"), status=400)
    assert_error(data, "invalid_operation", 400, message="pending")


@pytest.mark.parametrize("what", ["void", "refund"])
def test_unknown_and_other_environments_lots_are_404(api_client, other_tenant_client, make_customer, make_wallet, credit, what):
    neighbour_env = environment_get_or_create(tenant_name="acme", environment_name="test")
    neighbour = make_wallet(owner=make_customer(env=neighbour_env))
    theirs = credit("10", target=neighbour)
    data = call(api_client, "post", _void_url(theirs.id, what), _body(), status=404)
    assert_error(data, "not_found", 404, message="Wallet transaction not found")
    mine = credit("10")
    call(other_tenant_client, "post", _void_url(mine.id, what), _body(), status=404)
    call(api_client, "post", _void_url("wtxn_nope", what), _body(), status=404)
    assert WalletTransaction.objects.get(pk=mine.id).credits_available == D("10")


def test_read_only_keys_cannot_void(read_only_client, credit):
    lot = credit("10")
    data = call(read_only_client, "post", _void_url(lot.id), _body(), status=403)
    assert_error(data, "permission_denied", 403)


def test_refund_answers_the_debit_the_wallet_and_the_credit_note(api_client, make_wallet):
    wallet = make_wallet(topup_conversion_rate=D("0.07"))
    lot, invoice_id = _paid_lot(wallet, "14.285714286")
    services.wallet_debit(wallet, credits=D("5"), idempotency_key="spend", reason="INVOICE_PAYMENT")
    data = call(api_client, "post", _void_url(lot.id, "refund"), _body(idempotency_key="refund-1"))
    assert_decimals_are_strings(data)
    row, note = data["wallet_transaction"], data["credit_note"]
    assert (row["transaction_reason"], row["credit_amount"], row["reference_id"]) == ("CREDIT_REFUND", "9.285714286", invoice_id)
    # The invoice was 14.285714286 × 0.07 = 1.00000000002 → 1; the note is 1 × 9.285714286 / 14.285714286.
    assert (note["invoice_id"], note["credits"], note["amount"], note["currency"]) == (invoice_id, "9.285714286", "0.65", "usd")
    assert note["wallet_transaction_id"] == row["id"] and note["id"].startswith("cn_")
    again = call(api_client, "post", _void_url(lot.id, "refund"), _body(idempotency_key="refund-1"))
    assert again["credit_note"] == note
    invoice = call(api_client, "get", f"/v1/invoices/{invoice_id}")
    assert invoice["credit_notes"] == [note]
    listed = call(api_client, "post", "/v1/invoices/search", {"invoice_ids": [invoice_id]})
    assert listed["items"][0]["credit_notes"] == [note]


def test_refund_of_a_direct_purchase_points_at_the_void(api_client, credit):
    lot = credit("10", reason="PURCHASED_CREDIT_DIRECT")
    data = call(api_client, "post", _void_url(lot.id, "refund"), _body(), status=400)
    assert_error(data, "invalid_operation", 400, message="void the remaining credits instead")


def test_invoices_without_refunds_list_no_credit_notes(api_client, wallet):
    _, invoice_id = _paid_lot(wallet)
    assert call(api_client, "get", f"/v1/invoices/{invoice_id}")["credit_notes"] == []
