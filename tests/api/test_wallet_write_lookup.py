"""Top-ups and debits read the wallet only with its row lock (wallets.selectors.WalletRef).

The lock is scoped as every wallet lookup is (the key's environment, published wallets), and a
refused request still answers 404 before any 400 for a wallet the environment lacks, as the
routes did when they read the wallet first.
"""

import pytest

from tests.api.test_wallet_contract import assert_error, call
from wallets.models import Wallet, WalletTransaction

pytestmark = pytest.mark.django_db

TOP_UP = {"credits_to_add": "5", "transaction_reason": "FREE_CREDIT_GRANT"}
DEBIT = {"credits": "1", "transaction_reason": "MANUAL_BALANCE_DEBIT", "idempotency_key": "d-1"}


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("top-up", {**TOP_UP, "credits_to_add": "abc"}),  # refused by the serializer
        ("top-up", {**TOP_UP, "checkout": {}}),  # by the view
        ("top-up", {**TOP_UP, "idempotency_key": "wallet_01H"}),  # by the service (a reserved key)
        ("top-up", TOP_UP),
        ("top-up", {"amount": "5", "transaction_reason": "FREE_CREDIT_GRANT"}),  # the rate is read first
        ("debit", {**DEBIT, "credits": "-1"}),
        ("debit", {**DEBIT, "idempotency_key": ""}),  # by the service (a debit needs a key)
        ("debit", DEBIT),
    ],
)
def test_a_wallet_the_environment_lacks_is_404_before_any_400(api_client, other_tenant_client, wallet, route, body):
    Wallet.objects.filter(pk=wallet.pk).update(status="deleted")
    for path in [
        f"/v1/wallets/wallet_nope/{route}",
        f"/v1/wallets/wallet%00nope/{route}",  # no row can have this id: not even asked
        f"/v1/wallets/{wallet.id}/{route}",  # not published
    ]:
        assert_error(call(api_client, "post", path, body, status=404), "not_found", 404, message="Wallet not found")
    Wallet.objects.filter(pk=wallet.pk).update(status="published")
    call(other_tenant_client, "post", f"/v1/wallets/{wallet.id}/{route}", body, status=404)
    assert not WalletTransaction.objects.exists()
