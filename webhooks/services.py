"""Publishing events into the outbox and delivering them.

``event_publish`` runs inside the caller's transaction, so an event exists exactly when the
change it describes committed. Delivery happens after commit: a task per delivery, plus a
periodic sweep of due deliveries that makes up for lost queue messages.
"""

import json
import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from webhooks import signing, transport
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)

# Exponential back-off between attempts: about 23 hours from the first attempt to the last.
RETRY_DELAYS = [timedelta(seconds=s) for s in (30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)]
# How long a worker holds a delivery while sending it; longer than the HTTP timeout.
SEND_LEASE = timedelta(seconds=60)


def event_publish(*, environment_id: str, event_type: str, data: dict, now: datetime | None = None) -> None:
    """Record ``event_type`` for every enabled endpoint that wants it (nothing when none does)."""
    events_publish(environment_id=environment_id, event_type=event_type, payloads=[data], now=now)


def events_publish(*, environment_id: str, event_type: str, payloads: list[dict], now: datetime | None = None) -> None:
    """Record one event per payload, with one delivery per subscribed endpoint, in bulk."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(environment_id=environment_id, enabled=True)
        if endpoint.wants(event_type)
    ]
    if not endpoints or not payloads:
        return
    now = now or timezone.now()
    events = WebhookEvent.objects.bulk_create(
        [WebhookEvent(environment_id=environment_id, event_type=event_type, payload=data, created_at=now) for data in payloads]
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
            for event in events
            for endpoint in endpoints
        ]
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: _enqueue(ids))


def _enqueue(delivery_ids: list[int]) -> None:
    # Imported here: tasks import services, not the other way round.
    from webhooks.tasks import webhook_deliver_task

    for delivery_id in delivery_ids:
        try:
            webhook_deliver_task.delay(delivery_id)
        except Exception:  # the broker is down: the due-deliveries sweep will send it
            logger.warning("could not queue webhook delivery %s; the sweep will pick it up", delivery_id, exc_info=True)


def message_body(event: WebhookEvent) -> bytes:
    envelope = {
        "id": event.id,
        "type": event.event_type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Take the delivery if it is pending and due, pushing its due time out by the lease."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("event", "endpoint")
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        delivery.next_attempt_at = now + SEND_LEASE
        delivery.save(update_fields=["next_attempt_at"])
        return delivery


def webhook_deliver(delivery_id: int, *, now: datetime | None = None) -> WebhookAttempt | None:
    """Make one attempt at a due delivery; None when it is not due or another worker has it.

    Delivery is at least once: a receiver dedupes on the ``webhook-id`` header.
    """
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint, event = delivery.endpoint, delivery.event
    body = message_body(event)
    timestamp = int(now.timestamp())
    headers = signing.headers(endpoint.secret, message_id=event.id, timestamp=timestamp, body=body)
    outcome = transport.post(endpoint.url, body=body, headers=headers)
    return _record(delivery, outcome, now=timezone.now())


def _record(delivery: WebhookDelivery, outcome: transport.Outcome, *, now: datetime) -> WebhookAttempt:
    with transaction.atomic():
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
            response_excerpt=outcome.response_excerpt,
        )
        delivery.attempt_count += 1
        if outcome.ok:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempt_count > len(RETRY_DELAYS):
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempt_count - 1]
        delivery.save(update_fields=["status", "attempt_count", "delivered_at", "next_attempt_at"])
    log = logger.info if outcome.ok else logger.warning
    log(
        "webhook %s to %s: attempt %s %s",
        delivery.event_id,
        delivery.endpoint.url,
        delivery.attempt_count,
        outcome.status_code or outcome.error,
    )
    return attempt


def due_delivery_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_resend(delivery: WebhookDelivery, *, now: datetime | None = None) -> WebhookDelivery:
    """Queue a delivery again now, whatever its state (a support action after fixing an endpoint)."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.PENDING, next_attempt_at=now)
    transaction.on_commit(lambda: _enqueue([delivery.pk]))
    delivery.refresh_from_db()
    return delivery
