"""Writes for customers: create, update, delete (a soft delete that frees the external id)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import inputs
from core.exceptions import AlreadyExists, InvalidOperation, ValidationFailed
from customers.models import Customer
from tenancy.models import Environment

# Fields a caller may set, with their maximum lengths (the model's columns).
PROFILE_FIELDS = {
    "name": 255,
    "email": 255,
    "address_line1": 255,
    "address_line2": 255,
    "address_city": 100,
    "address_state": 100,
    "address_postal_code": 20,
    "address_country": 2,
}


def check_external_id(value) -> str:
    value = inputs.check_text(value, field="external_id", max_length=255, allow_blank=False)
    if "%" in value or " " in value:
        raise ValidationFailed("external_id must not contain '%' or spaces", field="external_id")
    return value


def _check_profile(fields: dict) -> dict:
    checked = {}
    for field, value in fields.items():
        checked[field] = inputs.check_text(value, field=field, max_length=PROFILE_FIELDS[field])
    if checked.get("address_country"):
        country = checked["address_country"]
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise ValidationFailed("address_country must be a two-letter ISO 3166 code", field="address_country")
        checked["address_country"] = country.upper()
    return checked


def customer_create(
    *, environment: Environment, external_id: str, metadata: dict | None = None, actor: str = "", **profile
) -> Customer:
    """Create a customer. Raises AlreadyExists when ``external_id`` is taken in this environment."""
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown customer field {sorted(unknown)[0]}", field=sorted(unknown)[0])
    external_id = check_external_id(external_id)
    profile = _check_profile(profile)
    metadata = inputs.check_metadata(metadata)
    now = timezone.now()
    customer = Customer(
        tenant_id=environment.tenant_id,
        environment=environment,
        external_id=external_id,
        metadata=metadata,
        created_at=now,
        updated_at=now,
        created_by=actor,
        updated_by=actor,
        **profile,
    )
    try:
        with transaction.atomic():
            customer.save(force_insert=True)
    except IntegrityError:
        raise AlreadyExists(
            f"A customer with external_id {external_id} already exists", details={"external_id": external_id}
        ) from None
    return customer


def customer_update(
    customer: Customer, *, external_id: str | None = None, metadata: dict | None = None, actor: str = "", **profile
) -> Customer:
    """Change a customer's profile; ``metadata``, when given, replaces the whole map."""
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown customer field {sorted(unknown)[0]}", field=sorted(unknown)[0])
    changes = _check_profile({k: v for k, v in profile.items() if v is not None})
    if external_id is not None:
        changes["external_id"] = check_external_id(external_id)
    if metadata is not None:
        changes["metadata"] = inputs.check_metadata(metadata)
    for field, value in changes.items():
        setattr(customer, field, value)
    customer.updated_at = timezone.now()
    customer.updated_by = actor
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        raise AlreadyExists(
            f"A customer with external_id {customer.external_id} already exists",
            details={"external_id": customer.external_id},
        ) from None
    return customer


def customer_delete(customer: Customer, *, actor: str = "") -> None:
    """Delete a customer; refused while one of its wallets is open and holds credits.

    The wallets are reached through the customer's reverse relation, so this app imports no
    wallet code (the layers in ARCHITECTURE.md): customers sit below wallets.
    """
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        wallets = customer.wallets
        funded = wallets.filter(wallet_status=wallets.model.Status.ACTIVE, credit_balance__gt=0)
        if funded.exists():
            raise InvalidOperation(
                "The customer has an active wallet with credits; terminate it first",
                details={"customer_id": customer.id, "wallet_ids": list(funded.values_list("id", flat=True))},
            )
        customer.status = Customer.Status.DELETED
        customer.updated_at = timezone.now()
        customer.updated_by = actor
        customer.save(update_fields=["status", "updated_at", "updated_by"])
