"""Webhook endpoints, the event outbox and the delivery log.

An event is written in the same transaction as the change it describes, with one delivery row
per subscribed endpoint. Workers send due deliveries and record every attempt; because the
rows say what is due, a lost queue message only delays a delivery, never drops it.
"""

import base64
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.ids import prefixed_id_field
from tenancy.models import Environment


def new_signing_secret() -> str:
    """A Standard Webhooks secret: "whsec_" + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    id = prefixed_id_field("whep")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=255, blank=True)
    secret = models.CharField(max_length=100, default=new_signing_secret, help_text="Used to sign every delivery.")
    event_types = models.JSONField(
        default=list, blank=True, help_text='Event types to send, e.g. ["wallet.transaction.created"]; empty sends all.'
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookEvent(models.Model):
    """One change worth telling the tenant about; its id is the ``webhook-id`` receivers dedupe on."""

    id = prefixed_id_field("evt")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [models.Index(fields=["environment", "-created_at"], name="webhook_event_env_created_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # gave up after the last retry

    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    # When the next attempt is due; also a lease: a worker pushes it forward before sending.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once_per_endpoint"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]), name="webhook_delivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="attempts")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["-attempted_at"]
