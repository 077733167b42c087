"""Auto top-up: the guards of CONTRACT §5 and upstream scenarios 40–41."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from wallets import services
from wallets.models import Wallet, WalletTransaction
from wallets.services import automation

pytestmark = pytest.mark.django_db
D = Decimal


def _auto(**fields):
    return services.AutoTopUp(enabled=True, threshold=D(fields.pop("threshold")), amount=D(fields.pop("amount")), **fields)


def _auto_rows(wallet):
    return WalletTransaction.objects.filter(wallet=wallet, metadata__auto_topup="true")


def test_40_direct_mode_tops_up_until_above_threshold(make_wallet):
    wallet = make_wallet(auto_topup=_auto(threshold="50", amount="10"), initial_credits=D("5"))
    added = automation.wallet_auto_top_up(wallet.id, trigger_id="t1")
    wallet.refresh_from_db()
    assert len(added) == 5
    assert wallet.credit_balance == D("55")
    assert all(row.transaction_reason == "PURCHASED_CREDIT_DIRECT" for row in added)


def test_41_cooldown_allows_one_top_up(make_wallet):
    wallet = make_wallet(
        auto_topup=_auto(threshold="50", amount="10", cooldown_value=1, cooldown_unit="day"), initial_credits=D("5")
    )
    automation.wallet_auto_top_up(wallet.id, trigger_id="t1")
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("15")
    assert _auto_rows(wallet).count() == 1
    # a later trigger inside the cooldown adds nothing
    assert automation.wallet_auto_top_up(wallet.id, trigger_id="t2") == []


def test_cooldown_elapsed_allows_another(make_wallet):
    wallet = make_wallet(
        auto_topup=_auto(threshold="50", amount="10", cooldown_value=1, cooldown_unit="hour"), initial_credits=D("5")
    )
    automation.wallet_auto_top_up(wallet.id, trigger_id="t1")
    later = timezone.now() + timedelta(hours=1, seconds=1)
    assert len(automation.wallet_auto_top_up(wallet.id, trigger_id="t2", now=later)) == 1


def test_redelivered_evaluation_adds_nothing(make_wallet):
    wallet = make_wallet(auto_topup=_auto(threshold="50", amount="10"), initial_credits=D("5"))
    automation.wallet_auto_top_up(wallet.id, trigger_id="t1")
    automation.wallet_auto_top_up(wallet.id, trigger_id="t1")
    wallet.refresh_from_db()
    assert wallet.credit_balance == D("55")
    assert _auto_rows(wallet).count() == 5


def test_cap_per_evaluation(make_wallet, settings):
    settings.AUTO_TOP_UP_MAX_PER_EVALUATION = 3
    wallet = make_wallet(auto_topup=_auto(threshold="1000", amount="1"))
    assert len(automation.wallet_auto_top_up(wallet.id, trigger_id="t1")) == 3


def test_frozen_disabled_or_above_threshold_gets_nothing(make_wallet, make_customer):
    frozen = make_wallet(auto_topup=_auto(threshold="50", amount="10"))
    services.wallet_freeze(frozen, reason="fraud check")
    above = make_wallet(owner=make_customer(), auto_topup=_auto(threshold="50", amount="10"), initial_credits=D("60"))
    disabled = make_wallet(owner=make_customer(), initial_credits=D("1"))
    for wallet in (frozen, above, disabled):
        assert automation.wallet_auto_top_up(wallet.id, trigger_id="t") == []


def test_debit_below_threshold_queues_an_evaluation_after_commit(make_wallet, django_capture_on_commit_callbacks):
    wallet = make_wallet(auto_topup=_auto(threshold="50", amount="100"), initial_credits=D("60"))
    with django_capture_on_commit_callbacks() as callbacks:
        services.wallet_debit(wallet, credits=D("20"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    # the transaction event's webhook queue (no endpoints here) and the auto top-up
    assert len(callbacks) == 1


def test_debit_staying_above_threshold_queues_nothing(make_wallet, django_capture_on_commit_callbacks):
    wallet = make_wallet(auto_topup=_auto(threshold="10", amount="100"), initial_credits=D("60"))
    with django_capture_on_commit_callbacks() as callbacks:
        services.wallet_debit(wallet, credits=D("20"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    assert callbacks == []


def test_sweep_finds_low_wallets_and_uses_the_same_keys_as_the_debit_trigger(make_wallet):
    wallet = make_wallet(auto_topup=_auto(threshold="50", amount="100"), initial_credits=D("60"))
    debit = services.wallet_debit(wallet, credits=D("20"), idempotency_key="d1", reason="INVOICE_PAYMENT").transaction
    # the queued task ran (simulated) and then the sweep runs too: still one top-up
    automation.wallet_auto_top_up(wallet.id, trigger_id=debit.id)
    assert automation.auto_top_up_sweep() == 0
    assert _auto_rows(wallet).count() == 1
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("140")


def test_sweep_alone_recovers_a_lost_task(make_wallet):
    wallet = make_wallet(auto_topup=_auto(threshold="50", amount="100"), initial_credits=D("60"))
    services.wallet_debit(wallet, credits=D("20"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    assert automation.auto_top_up_sweep() == 1
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("140")


def test_client_cannot_take_an_auto_top_up_key(wallet):
    from core.exceptions import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.wallet_top_up(wallet, reason="FREE_CREDIT_GRANT", credits=D("1"), idempotency_key="auto_topup:x:0")


def _invoiced(**fields):
    return _auto(invoicing=True, **fields)


def _auto_invoices(wallet):
    from invoices.models import Invoice

    return Invoice.objects.filter(wallet=wallet, billing_reason="WALLET_AUTO_TOPUP")


def test_34_invoiced_mode_issues_one_invoice_and_guards_the_second_trigger(make_wallet):
    wallet = make_wallet(auto_topup=_invoiced(threshold="5", amount="10"), initial_credits=D("3"))
    first = automation.wallet_auto_top_up(wallet.id, trigger_id="t1")
    second = automation.wallet_auto_top_up(wallet.id, trigger_id="t2")
    assert len(first) == 1 and second == []
    assert first[0].transaction_status == "pending"
    assert _auto_invoices(wallet).count() == 1
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("3")


def test_35_paying_the_invoice_reopens_auto_top_up(make_wallet):
    from invoices.services import invoice_pay

    wallet = make_wallet(auto_topup=_invoiced(threshold="50", amount="10"), initial_credits=D("3"))
    automation.wallet_auto_top_up(wallet.id, trigger_id="t1")
    invoice_pay(_auto_invoices(wallet).get())
    assert Wallet.objects.get(pk=wallet.pk).credit_balance == D("13")
    automation.wallet_auto_top_up(wallet.id, trigger_id="t2")
    assert _auto_invoices(wallet).count() == 2


def test_38_a_pending_purchase_without_auto_top_up_metadata_does_not_block(make_wallet):
    wallet = make_wallet(auto_topup=_invoiced(threshold="50", amount="10"), initial_credits=D("3"))
    services.wallet_top_up(wallet, reason="PURCHASED_CREDIT_INVOICED", credits=D("5"))
    assert len(automation.wallet_auto_top_up(wallet.id, trigger_id="t1")) == 1


def test_49_alarm_and_invoiced_auto_top_up_together(make_wallet):
    from wallets.models import AlertLog

    wallet = make_wallet(
        auto_topup=_invoiced(threshold="30", amount="50"),
        alert_settings={"alert_enabled": True, "critical": {"threshold": "50", "condition": "below"}},
        initial_credits=D("20"),
    )
    automation.auto_top_up_sweep()
    assert list(AlertLog.objects.filter(wallet=wallet).values_list("state", flat=True)) == ["in_alarm"]
    assert _auto_invoices(wallet).count() == 1


def test_50_three_wallets_one_invoice(make_wallet, make_customer):
    critical = {"alert_enabled": True, "critical": {"threshold": "50", "condition": "below"}}
    a = make_wallet(owner=make_customer(), alert_settings=critical, initial_credits=D("100"))
    b = make_wallet(owner=make_customer(), alert_settings=critical, initial_credits=D("10"))
    c = make_wallet(owner=make_customer(), auto_topup=_invoiced(threshold="5", amount="10"), initial_credits=D("2"))
    automation.auto_top_up_sweep()
    from invoices.models import Invoice
    from wallets.models import AlertLog

    assert (Wallet.objects.get(pk=a.pk).alert_state, Wallet.objects.get(pk=b.pk).alert_state) == ("ok", "in_alarm")
    assert AlertLog.objects.filter(wallet=b).count() == 1
    assert not AlertLog.objects.filter(wallet__in=[a, c]).exists()
    assert Invoice.objects.count() == 1
