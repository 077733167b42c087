"""Freeze and unfreeze (contract §4): refusals, and the history of who froze what, when and why."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.exceptions import InvalidOperation, ValidationFailed
from wallets import services
from wallets.models import WalletStatusChange

pytestmark = pytest.mark.django_db

D = Decimal


def test_frozen_wallet_refuses_top_up_and_debit(wallet, credit, snapshot):
    credit(100)
    services.wallet_freeze(wallet, reason="chargeback", actor="key_1")
    before = snapshot()
    with pytest.raises(InvalidOperation, match="Wallet is frozen"):
        services.wallet_top_up(wallet, credits=D("1"), reason="FREE_CREDIT_GRANT")
    for reason in ("MANUAL_BALANCE_DEBIT", "INVOICE_PAYMENT"):
        with pytest.raises(InvalidOperation, match="Wallet is frozen"):
            services.wallet_debit(wallet, credits=D("1"), idempotency_key=f"f-{reason}", reason=reason)
    assert snapshot() == before


def test_freeze_then_unfreeze_records_history_and_restores_service(wallet, credit):
    credit(10)
    until = timezone.now() + timedelta(days=2)
    frozen = services.wallet_freeze(wallet, reason="chargeback", until=until, actor="key_1")
    assert (frozen.wallet_status, frozen.frozen_until) == ("frozen", until)
    active = services.wallet_unfreeze(wallet, reason="resolved", actor="key_2")
    assert (active.wallet_status, active.frozen_until) == ("active", None)
    history = list(
        WalletStatusChange.objects.filter(wallet=wallet).order_by("id").values_list("action", "reason", "until", "created_by")
    )
    assert history == [("freeze", "chargeback", until, "key_1"), ("unfreeze", "resolved", None, "key_2")]
    assert services.wallet_top_up(wallet, credits=D("1"), reason="FREE_CREDIT_GRANT").wallet.credit_balance == D("11")


@pytest.mark.parametrize(
    "action, state",
    [("wallet_freeze", "frozen"), ("wallet_freeze", "closed"), ("wallet_unfreeze", "active"), ("wallet_unfreeze", "closed")],
)
def test_status_change_from_the_wrong_state_is_invalid(wallet, snapshot, action, state):
    """Freezing needs an active wallet and unfreezing a frozen one; anything else is 400."""
    if state == "frozen":
        services.wallet_freeze(wallet, reason="first")
    elif state == "closed":
        services.wallet_terminate(wallet)
    before = snapshot()
    with pytest.raises(InvalidOperation, match=f"this one is {state}"):
        getattr(services, action)(wallet, reason="again")
    assert snapshot() == before


@pytest.mark.parametrize("reason", ["", "   ", None, "bad\x00reason", 5])
def test_freeze_needs_a_reason(wallet, snapshot, reason):
    before = snapshot()
    with pytest.raises(ValidationFailed) as raised:
        services.wallet_freeze(wallet, reason=reason)
    assert raised.value.field == "reason"
    assert snapshot() == before


def test_freeze_until_must_be_in_the_future(wallet, snapshot):
    before = snapshot()
    with pytest.raises(ValidationFailed) as raised:
        services.wallet_freeze(wallet, reason="x", until=timezone.now() - timedelta(seconds=1))
    assert raised.value.field == "until"
    assert snapshot() == before


def test_replaying_a_key_on_a_frozen_wallet_returns_the_original(wallet):
    """A replay writes nothing, so it answers even after the freeze; a new operation is refused."""
    original = services.wallet_top_up(wallet, credits=D("5"), reason="FREE_CREDIT_GRANT", idempotency_key="k1")
    services.wallet_freeze(wallet, reason="x")
    replay = services.wallet_top_up(wallet, credits=D("5"), reason="FREE_CREDIT_GRANT", idempotency_key="k1")
    assert replay.replayed and replay.transaction.pk == original.transaction.pk
    with pytest.raises(InvalidOperation, match="Wallet is frozen"):
        services.wallet_top_up(wallet, credits=D("5"), reason="FREE_CREDIT_GRANT", idempotency_key="k2")
