"""wallet_create: one open wallet per (customer, currency, type), defaults, and initial credits."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core import inputs
from core.exceptions import AlreadyExists, ValidationFailed
from wallets import services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

D = Decimal


def test_defaults(customer):
    wallet = services.wallet_create(customer, currency="EUR")
    wallet.refresh_from_db()
    assert (wallet.currency, wallet.wallet_type, wallet.name) == ("eur", "PRE_PAID", "Prepaid Wallet - EUR")
    assert (wallet.conversion_rate, wallet.topup_conversion_rate) == (1, 1)
    assert wallet.config == {"allowed_price_types": ["ALL"]}
    assert (wallet.transaction_count, wallet.alert_state) == (0, "ok")


def test_topup_rate_defaults_to_the_conversion_rate(customer):
    wallet = services.wallet_create(customer, currency="usd", conversion_rate=D("2.5"))
    assert wallet.topup_conversion_rate == D("2.5")


def test_open_twin_conflicts_and_names_it(customer, snapshot):
    first = services.wallet_create(customer, currency="usd")
    before = snapshot()
    with pytest.raises(AlreadyExists) as raised:
        services.wallet_create(customer, currency="usd", initial_credits=D("10"))
    assert raised.value.details["wallet_id"] == first.id
    assert snapshot() == before


def test_frozen_twin_still_holds_its_place(customer):
    first = services.wallet_create(customer, currency="usd")
    services.wallet_freeze(first, reason="fraud")
    with pytest.raises(AlreadyExists):
        services.wallet_create(customer, currency="usd")


def test_closed_twin_allows_a_new_wallet(customer):
    first = services.wallet_create(customer, currency="usd")
    services.wallet_terminate(first)
    second = services.wallet_create(customer, currency="usd")
    assert second.pk != first.pk
    assert Wallet.objects.filter(customer=customer).exclude(wallet_status="closed").get() == second


def test_other_currency_type_or_customer_is_no_twin(customer, make_customer):
    services.wallet_create(customer, currency="usd")
    services.wallet_create(customer, currency="eur")
    services.wallet_create(customer, currency="usd", wallet_type="PROMOTIONAL")
    services.wallet_create(make_customer(), currency="usd")
    assert Wallet.objects.count() == 4


def test_initial_credits_with_integer_expiry(customer):
    expiry = inputs.date_from_yyyymmdd(20360101, field="initial_credits_expiry_date")
    wallet = services.wallet_create(customer, currency="usd", initial_credits=D("100"), initial_credits_expiry=expiry)
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.balance, wallet.transaction_count) == (D("100"), D("100"), 1)
    row = wallet.transactions.get()
    assert (row.transaction_reason, row.credit_amount, row.credits_available) == ("FREE_CREDIT_GRANT", D("100"), D("100"))
    assert row.expiry_date == datetime(2036, 1, 1, tzinfo=UTC)
    assert row.idempotency_key.startswith("credit_grant_")


def test_initial_credits_zero_means_none(customer):
    wallet = services.wallet_create(customer, currency="usd", initial_credits=D("0"))
    assert not wallet.transactions.exists()


def test_initial_credits_at_the_wallet_rate(customer):
    wallet = services.wallet_create(customer, currency="usd", conversion_rate=D("2"), initial_credits=D("7"))
    wallet.refresh_from_db()
    assert (wallet.credit_balance, wallet.balance) == (D("7"), D("14"))


def test_initial_credits_with_past_expiry_leave_no_wallet(customer, snapshot):
    before = snapshot()
    with pytest.raises(ValidationFailed) as raised:
        services.wallet_create(
            customer, currency="usd", initial_credits=D("5"), initial_credits_expiry=timezone.now() - timedelta(days=1)
        )
    assert raised.value.field == "initial_credits_expiry_date_utc"
    assert snapshot() == before


def test_initial_credits_beyond_the_column_leave_no_wallet(customer, snapshot):
    """The overflow is found inside the transaction, after the wallet row is written: all or nothing."""
    before = snapshot()
    with pytest.raises(ValidationFailed) as raised:
        services.wallet_create(customer, currency="usd", conversion_rate=D("2"), initial_credits=D("60000000000"))
    assert raised.value.field == "credits"
    assert snapshot() == before


def test_a_customer_deleted_after_it_was_read_gets_no_wallet(customer):
    """The caller read the customer, then a deletion committed: the wallet must not open.

    (Without the lock and re-read in wallet_create, this opened a wallet for a deleted customer.)
    """
    from customers.models import Customer
    from customers.services import customer_delete

    read_before = Customer.objects.get(pk=customer.pk)
    customer_delete(customer)

    with pytest.raises(ValidationFailed) as refused:
        services.wallet_create(read_before, currency="usd")
    assert refused.value.field == "customer_id"
    assert not Wallet.objects.filter(customer=customer).exists()
