"""The Customer model. ``external_id`` is the tenant's own id for the customer (the lookup key)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.ids import prefixed_id_field
from tenancy.models import Environment, Tenant


class Customer(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "published"
        DELETED = "deleted"

    id = prefixed_id_field("cust")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="customers")
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    address_line1 = models.CharField(max_length=255, blank=True)
    address_line2 = models.CharField(max_length=255, blank=True)
    address_city = models.CharField(max_length=100, blank=True)
    address_state = models.CharField(max_length=100, blank=True)
    address_postal_code = models.CharField(max_length=20, blank=True)
    address_country = models.CharField(max_length=2, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Deleting keeps the row (wallets and the ledger point at it) and frees the external id.
    status = models.CharField(max_length=20, choices=Status, default=Status.PUBLISHED)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=100, blank=True)
    updated_by = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "external_id"],
                condition=Q(status="published"),
                name="customer_unique_external_id_per_environment",
            ),
            models.CheckConstraint(condition=Q(status__in=["published", "deleted"]), name="customer_status_valid"),
        ]
        indexes = [
            models.Index(fields=["environment", "email"], name="customer_env_email_idx"),
            models.Index(fields=["environment", "-created_at"], name="customer_env_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.external_id} ({self.external_id})"
