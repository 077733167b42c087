"""Balance alerts (upstream scenarios 47–48) and webhook delivery: outbox, signature, retries."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.workers.receiver import WebhookReceiver, signed_with
from wallets import services
from wallets.models import AlertLog
from wallets.services import events
from webhooks import services as webhooks
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db
D = Decimal
CRITICAL_50 = {"alert_enabled": True, "critical": {"threshold": "50", "condition": "below"}}


@pytest.fixture(autouse=True)
def _loopback_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


def test_47_healthy_wallet_logs_nothing(make_wallet):
    wallet = make_wallet(alert_settings=CRITICAL_50, initial_credits=D("100"))
    assert wallet.alert_state == "ok"
    assert not AlertLog.objects.filter(wallet=wallet).exists()


def test_48_drop_then_recover_logs_each_transition_once(make_wallet):
    wallet = make_wallet(alert_settings=CRITICAL_50, initial_credits=D("100"))
    services.wallet_debit(wallet, credits=D("80"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    services.wallet_debit(wallet, credits=D("5"), idempotency_key="d2", reason="INVOICE_PAYMENT")  # still in alarm
    services.wallet_top_up(wallet, reason="FREE_CREDIT_GRANT", credits=D("100"))
    logs = list(AlertLog.objects.filter(wallet=wallet).order_by("created_at", "id").values_list("previous_state", "state"))
    assert logs == [("ok", "in_alarm"), ("in_alarm", "ok")]
    wallet.refresh_from_db()
    assert wallet.alert_state == "ok"


def test_alerts_off_keeps_state_ok(make_wallet):
    wallet = make_wallet(alert_settings={**CRITICAL_50, "alert_enabled": False}, initial_credits=D("10"))
    assert wallet.alert_state == "ok"
    assert not AlertLog.objects.exists()


def test_events_are_written_only_for_subscribed_endpoints(environment, make_wallet):
    WebhookEndpoint.objects.create(
        environment=environment, url="http://127.0.0.1:9/a", event_types=[events.CREDIT_BALANCE_DROPPED]
    )
    WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.1:9/b", enabled=False)
    wallet = make_wallet(alert_settings=CRITICAL_50, initial_credits=D("100"))
    assert not WebhookEvent.objects.exists()
    services.wallet_debit(wallet, credits=D("80"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    assert list(WebhookEvent.objects.values_list("event_type", flat=True)) == [events.CREDIT_BALANCE_DROPPED]
    assert WebhookDelivery.objects.count() == 1


def test_rolled_back_change_leaves_no_event(environment, wallet):
    from core.exceptions import InvalidOperation

    WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.1:9/a")
    with pytest.raises(InvalidOperation):
        services.wallet_debit(wallet, credits=D("5"), idempotency_key="d1", reason="INVOICE_PAYMENT")
    assert not WebhookEvent.objects.filter(event_type=events.TRANSACTION_CREATED).exists()


def test_delivery_is_signed_and_recorded(environment, wallet):
    with WebhookReceiver() as receiver:
        endpoint = WebhookEndpoint.objects.create(environment=environment, url=receiver.url)
        services.wallet_top_up(wallet, reason="FREE_CREDIT_GRANT", credits=D("5"), idempotency_key="k1")
        delivery = WebhookDelivery.objects.get(event__event_type=events.TRANSACTION_CREATED)
        attempt = webhooks.webhook_deliver(delivery.pk)

    assert attempt.status_code == 200
    request = receiver.requests[0]
    assert signed_with(endpoint.secret, request)
    assert not signed_with(endpoint.secret, request, body=request["body"] + b" ")
    payload = receiver.events()[0]
    assert payload["type"] == events.TRANSACTION_CREATED
    assert payload["data"]["transaction"]["credit_amount"] == "5"
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert delivery.attempt_count == 1


def test_failures_back_off_exponentially_then_give_up(environment, wallet):
    with WebhookReceiver() as receiver:
        receiver.status = 500
        WebhookEndpoint.objects.create(environment=environment, url=receiver.url, event_types=[events.TRANSACTION_CREATED])
        services.wallet_top_up(wallet, reason="FREE_CREDIT_GRANT", credits=D("5"))
        delivery = WebhookDelivery.objects.get()
        now = timezone.now()
        delays = []
        for _ in range(len(webhooks.RETRY_DELAYS) + 1):
            assert webhooks.webhook_deliver(delivery.pk, now=now) is not None
            assert webhooks.webhook_deliver(delivery.pk, now=now) is None  # not due again yet
            delivery.refresh_from_db()
            if delivery.next_attempt_at:
                delays.append(delivery.next_attempt_at - now)
                now = delivery.next_attempt_at
    assert delivery.status == "failed"
    assert delivery.attempts.count() == len(webhooks.RETRY_DELAYS) + 1
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    assert sum(webhooks.RETRY_DELAYS, timedelta()) <= timedelta(days=1)
    assert len(receiver.requests) == len(webhooks.RETRY_DELAYS) + 1


def test_private_targets_are_refused_in_production(environment, wallet, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    WebhookEndpoint.objects.create(environment=environment, url="http://127.0.0.1:9/x")
    services.wallet_top_up(wallet, reason="FREE_CREDIT_GRANT", credits=D("5"))
    attempt = webhooks.webhook_deliver(WebhookDelivery.objects.get().pk)
    assert attempt.status_code is None
    assert "private" in attempt.error


def test_resend_makes_a_failed_delivery_due_again(environment, wallet):
    with WebhookReceiver() as receiver:
        WebhookEndpoint.objects.create(environment=environment, url=receiver.url)
        services.wallet_top_up(wallet, reason="FREE_CREDIT_GRANT", credits=D("5"))
        delivery = WebhookDelivery.objects.first()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
        webhooks.webhook_resend(delivery)
        assert webhooks.webhook_deliver(delivery.pk).status_code == 200
