"""A ledger row's page shows the allocation table: a debit's lots, a lot's debits, with links."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.admin.flows import TRANSACTIONS_URL
from wallets import services
from wallets.admin import wallet as wallet_admin
from wallets.admin.display import change_url

pytestmark = pytest.mark.django_db

D = Decimal


def _consumption(client, row) -> str:
    page = client.get(f"{TRANSACTIONS_URL}{row.pk}/change/")
    assert page.status_code == 200
    match = re.search(r'<table class="wallet-consumption">.*?</table>', page.content.decode(), re.S)
    return match.group(0) if match else ""


def _links(table: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', table)


def test_a_debit_lists_its_lots_in_order_and_a_repayment_after_them(viewer, wallet, credit):
    soon = credit(10, expiry_date=timezone.now() + timedelta(days=2))
    plain = credit(20)
    debit = services.wallet_debit(wallet, credits=D("35"), idempotency_key="over").transaction  # 5 overdrawn
    repayment = credit(8)
    table = _consumption(viewer, debit)
    assert _links(table) == [change_url(row) for row in (soon, plain, repayment)]
    assert table.count("overdraft repayment") == 1
    assert re.search(rf"{change_url(repayment)}.*overdraft repayment", table, re.S)
    for shown in ("10", "20", "5"):
        assert f'<td class="numeric">{shown}</td>' in table


def test_a_lot_lists_the_debits_that_consumed_it(viewer, wallet, credit):
    lot = credit(100)
    first = services.wallet_debit(wallet, credits=D("1.5"), idempotency_key="a").transaction
    second = services.wallet_debit(wallet, credits=D("2"), idempotency_key="b").transaction
    table = _consumption(viewer, lot)
    assert "<th>Debit</th>" in table
    assert _links(table) == [change_url(first), change_url(second)]


def test_a_lot_nothing_consumed_shows_no_table(viewer, wallet, credit):
    assert _consumption(viewer, credit(5)) == ""


def test_a_busy_lot_shows_the_first_rows_only(viewer, wallet, credit, monkeypatch):
    monkeypatch.setattr(wallet_admin, "CONSUMPTION_ROWS", 2)
    lot = credit(100)
    for number in range(3):
        services.wallet_debit(wallet, credits=D("1"), idempotency_key=f"d{number}")
    table = viewer.get(f"{TRANSACTIONS_URL}{lot.pk}/change/").content.decode()
    assert table.count("manual balance debit") == 2 and "The first 2 are shown." in table
