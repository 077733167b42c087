"""The wallet page's sections follow their own models' view permissions, as inlines would: staff who
may view wallets but not ledger rows or status changes see neither, and no query reads them."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from wallets import services
from wallets.models import WalletStatusChange, WalletTransaction

pytestmark = pytest.mark.django_db

HIDDEN_TABLES = [model._meta.db_table for model in (WalletTransaction, WalletStatusChange)]


@pytest.fixture
def frozen_wallet(make_wallet):
    wallet = make_wallet(name="Main")
    top_up = services.wallet_top_up(wallet, credits=Decimal("7"), reason="FREE_CREDIT_GRANT")
    services.wallet_freeze(wallet, reason="Chargeback dispute", actor="user:sam")
    return wallet, top_up.transaction


def _page(user, wallet):
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/admin/wallets/wallet/{wallet.pk}/change/")
    assert response.status_code == 200
    return response.content.decode(), [query["sql"] for query in queries]


def test_staff_who_may_view_only_wallets_see_no_ledger_and_no_history(make_staff, frozen_wallet):
    wallet, row = frozen_wallet
    page, queries = _page(make_staff("cora", permissions=("wallets.view_wallet",)), wallet)

    assert [sql for sql in queries if any(f'"{table}"' in sql for table in HIDDEN_TABLES)] == []
    for section in ("wallet-chart", "wallet-lots", "ledger", "wallet-status-history"):
        assert f'id="{section}"' not in page
    assert row.pk not in page
    assert "Chargeback dispute" not in page
    assert "Left out, as you may not view them: the balance chart, credit lots and ledger, " in page


def test_support_staff_see_every_section(support_user, frozen_wallet):
    wallet, row = frozen_wallet
    page, _ = _page(support_user, wallet)

    for section in ("wallet-chart", "wallet-lots", "ledger", "wallet-status-history"):
        assert f'id="{section}"' in page
    assert row.pk in page
    assert "Chargeback dispute" in page
    assert 'id="wallet-hidden"' not in page
