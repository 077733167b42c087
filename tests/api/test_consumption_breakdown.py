"""``consumption_breakdown`` on debit rows wherever the API renders one: lists, search, void, refund, transfer.

``call`` checks each answer against the OpenAPI document, so the documented shape is the one sent.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.models import Invoice
from invoices.services import invoice_pay
from tests.api.test_wallet_contract import call
from wallets import services
from wallets.services import holds

pytestmark = pytest.mark.django_db

D = Decimal


def _breakdown(row: dict) -> list[tuple]:
    return [
        (item["credit_transaction_id"], item["credits"], item["overdraft_repayment"]) for item in row["consumption_breakdown"]
    ]


def _rows(client, wallet) -> dict[str, dict]:
    items = call(client, "get", f"/v1/wallets/{wallet.id}/transactions?limit=100")["items"]
    return {item["id"]: item for item in items}


def test_a_debit_lists_its_lots_in_consumption_order_and_credits_omit_it(api_client, wallet, credit):
    plain = credit(50)
    soon = credit(10, expiry_date=timezone.now() + timedelta(days=2))
    first = credit(5, priority=1)
    debit = services.wallet_debit(wallet, credits=D("20.5"), idempotency_key="d").transaction
    rows = _rows(api_client, wallet)
    assert _breakdown(rows[debit.id]) == [(first.id, "5", False), (soon.id, "10", False), (plain.id, "5.5", False)]
    assert all("consumption_breakdown" not in rows[lot.id] for lot in (plain, soon, first))
    # the search renders the same rows
    found = call(api_client, "post", "/v1/wallets/transactions/search", {"id": wallet.id, "limit": 100})["items"]
    assert {item["id"]: item for item in found} == rows


def test_an_overdraft_repayment_follows_the_debits_lots(api_client, wallet, credit):
    lot = credit(10)
    debit = services.wallet_debit(wallet, credits=D("25"), idempotency_key="over").transaction
    assert _breakdown(_rows(api_client, wallet)[debit.id]) == [(lot.id, "10", False)]  # 15 still owed
    partly = credit(6)
    rest = credit(20)
    assert _breakdown(_rows(api_client, wallet)[debit.id]) == [
        (lot.id, "10", False),
        (partly.id, "6", True),
        (rest.id, "9", True),
    ]


def test_expiry_termination_and_hold_capture_debits_carry_theirs(api_client, wallet, credit):
    lot = credit(30)
    hold = holds.hold_place(wallet, credits=D("8"), idempotency_key="h").hold
    capture = holds.hold_capture(hold, credits=D("3"), idempotency_key="c").hold.capture_transaction
    terminated = services.wallet_terminate(wallet).transaction
    rows = _rows(api_client, wallet)
    assert _breakdown(rows[capture.id]) == [(lot.id, "3", False)]
    assert _breakdown(rows[terminated.id]) == [(lot.id, "27", False)]


def test_void_refund_and_transfer_answers_carry_it(api_client, wallet, make_wallet, credit):
    lot = credit(30)
    void = call(api_client, "post", f"/v1/wallets/transactions/{lot.id}/void", {"reason": "r", "idempotency_key": "v"})
    assert _breakdown(void["wallet_transaction"]) == [(lot.id, "30", False)]
    paid = services.wallet_top_up(wallet, credits=D("12"), reason="PURCHASED_CREDIT_INVOICED")
    invoice_pay(Invoice.objects.get(pk=paid.invoice_id))
    purchase = paid.transaction
    refund = call(api_client, "post", f"/v1/wallets/transactions/{purchase.id}/refund", {"reason": "r", "idempotency_key": "f"})
    assert _breakdown(refund["wallet_transaction"]) == [(purchase.id, "12", False)]
    grant = credit(9)
    promo = make_wallet(wallet_type="PROMOTIONAL")
    body = {"from_wallet_id": wallet.id, "to_wallet_id": promo.id, "credits": "4", "idempotency_key": "t"}
    transfer = call(api_client, "post", "/v1/wallets/transfers", body, status=201)
    assert _breakdown(transfer["debit_transaction"]) == [(grant.id, "4", False)]
    assert all("consumption_breakdown" not in row for row in transfer["credit_transactions"])
    # a top-up's answer is a credit: no breakdown
    top_up = call(
        api_client, "post", f"/v1/wallets/{wallet.id}/top-up", {"credits_to_add": "1", "transaction_reason": "FREE_CREDIT_GRANT"}
    )
    assert "consumption_breakdown" not in top_up["wallet_transaction"]
