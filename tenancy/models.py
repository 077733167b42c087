"""Tenant > Environment > data. An API key belongs to exactly one environment of one tenant."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.ids import prefixed_id_field


class Tenant(models.Model):
    id = prefixed_id_field("tenant")
    name = models.CharField(max_length=100, unique=True)
    # Upstream's invoice_config.auto_complete_purchased_credit_transaction: when on, an invoiced
    # credit purchase completes at once instead of waiting for the invoice to be paid.
    auto_complete_purchased_credits = models.BooleanField(default=False)
    # The workers announce wallet.credits.expiring this many days before a lot expires (once per lot).
    credit_expiry_reminder_days = models.PositiveSmallIntegerField(default=7)
    # Admin top-ups, debits and voids of more credits than this wait for a second staff member's
    # approval; None turns four-eyes approval off. Credits, exact (numeric(20,9), like the ledger).
    approval_threshold_credits = models.DecimalField(max_digits=20, decimal_places=9, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(approval_threshold_credits__isnull=True) | Q(approval_threshold_credits__gt=0),
                name="tenant_approval_threshold_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Environment(models.Model):
    id = prefixed_id_field("env")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="environments")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="environment_unique_name_per_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant.name}/{self.name}"


class ApiKey(models.Model):
    """A secret shown once at creation. Only its SHA-256 hash and a short visible prefix are kept."""

    id = prefixed_id_field("key")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, help_text="The first characters of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        constraints = [
            models.CheckConstraint(condition=Q(key_hash__regex=r"^[0-9a-f]{64}$"), name="api_key_hash_is_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.environment})"

    @property
    def tenant_id(self) -> str:
        return self.environment.tenant_id

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
