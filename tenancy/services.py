"""Writes for tenancy: tenants (and their settings), environments, and API keys (creation, rotation, revocation)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.exceptions import ValidationFailed
from tenancy.models import ApiKey, Environment, Tenant

API_KEY_PREFIX = "sk_"
VISIBLE_PREFIX_LENGTH = 11  # "sk_" + 8 characters of the secret


def api_key_hash(raw_key: str) -> str:
    """SHA-256 is enough here: keys are 256-bit random strings, not guessable passwords."""
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    raw_key: str  # shown once; never stored


@transaction.atomic
def environment_get_or_create(*, tenant_name: str, environment_name: str) -> Environment:
    tenant, _ = Tenant.objects.get_or_create(name=tenant_name)
    environment, _ = Environment.objects.get_or_create(tenant=tenant, name=environment_name)
    return environment


def api_key_create(
    *, environment: Environment, name: str = "", read_only: bool = False, expires_at: datetime | None = None
) -> IssuedApiKey:
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        environment=environment,
        name=name,
        prefix=raw_key[:VISIBLE_PREFIX_LENGTH],
        key_hash=api_key_hash(raw_key),
        read_only=read_only,
        expires_at=expires_at,
    )
    return IssuedApiKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(api_key: ApiKey) -> ApiKey:
    """Revocation takes effect on the next request: saving the key starts a new key generation (tenancy.key_cache)."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


@transaction.atomic
def api_key_rotate(api_key: ApiKey) -> IssuedApiKey:
    """Issue a replacement with the same scope and revoke the old key in the same transaction."""
    issued = api_key_create(
        environment=api_key.environment, name=api_key.name, read_only=api_key.read_only, expires_at=api_key.expires_at
    )
    api_key_revoke(api_key)
    return issued


def tenant_set_approval_threshold(tenant: Tenant, threshold: Decimal | None) -> Tenant:
    """Set the four-eyes threshold: admin top-ups and debits of more credits wait for a second
    staff member (backoffice.approvals); None turns the rule off."""
    if threshold is not None and (not isinstance(threshold, Decimal) or not threshold.is_finite() or threshold <= 0):
        raise ValidationFailed(
            "approval_threshold_credits must be a positive number of credits, or empty to turn approval off",
            field="approval_threshold_credits",
        )
    tenant.approval_threshold_credits = threshold
    tenant.save(update_fields=["approval_threshold_credits"])
    return tenant


# The widest reminder window staff may set: a year. Longer would announce credits so early the
# reminder reads as noise, and it bounds the window the reminder sweep reads.
MAX_EXPIRY_REMINDER_DAYS = 365


def tenant_set_expiry_reminder_days(tenant: Tenant, days: int) -> Tenant:
    """Set how many days before a lot expires the workers announce it (``wallet.credits.expiring``,
    wallets.services.reminders); 0 turns the reminders off. Takes effect at the next sweep."""
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_EXPIRY_REMINDER_DAYS:
        raise ValidationFailed(
            f"credit_expiry_reminder_days must be a whole number of days from 0 (off) to {MAX_EXPIRY_REMINDER_DAYS}",
            field="credit_expiry_reminder_days",
        )
    tenant.credit_expiry_reminder_days = days
    tenant.save(update_fields=["credit_expiry_reminder_days"])
    return tenant
