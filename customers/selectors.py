"""Reads for customers: lookups by id or external id, and the filtered list behind list and search.

Every function takes the caller's ``environment_id``: a customer of another environment or tenant
is simply not found. Deleted customers are invisible everywhere.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet

from core.exceptions import NotFound, ValidationFailed
from customers.models import Customer

# Columns a search may filter or sort on, with the kind of value each one compares against.
FILTERABLE_FIELDS = {
    "id": "string",
    "external_id": "string",
    "name": "string",
    "email": "string",
    "address_city": "string",
    "address_state": "string",
    "address_postal_code": "string",
    "address_country": "string",
    "created_at": "date",
    "updated_at": "date",
}
SORTABLE_FIELDS = ("id", "external_id", "name", "email", "created_at", "updated_at")


@dataclass(frozen=True)
class Condition:
    """One clause of the search DSL, shape-checked; ``values`` holds the members of ``value`` sent
    (``string``, ``date`` as an aware datetime, ``array`` of strings)."""

    field: str
    operator: str
    values: dict


@dataclass(frozen=True)
class CustomerQuery:
    customer_ids: list[str] = field(default_factory=list)
    external_ids: list[str] = field(default_factory=list)
    email: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    conditions: list[Condition] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    order: str = "desc"


def _published(environment_id: str) -> QuerySet:
    return Customer.objects.filter(environment_id=environment_id, status=Customer.Status.PUBLISHED)


def customer_get(*, environment_id: str, customer_id: str) -> Customer:
    """The caller's customer ``customer_id``; raises NotFound for anything else."""
    customer = _published(environment_id).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"Customer with ID {customer_id} was not found", details={"customer_id": customer_id})
    return customer


def customer_get_by_external_id(*, environment_id: str, external_id: str) -> Customer:
    """The caller's customer whose ``external_id`` (Flexprice's lookup key) is given; raises NotFound."""
    customer = _published(environment_id).filter(external_id=external_id).first()
    if customer is None:
        raise NotFound(f"Customer with external ID {external_id} was not found", details={"external_id": external_id})
    return customer


def _condition_q(condition: Condition) -> Q:
    name, operator = condition.field, condition.operator
    kind = FILTERABLE_FIELDS.get(name)
    if kind is None:
        raise ValidationFailed(f"filters.field: unknown field name '{name}' in customer query", field="filters.field")
    # Each operator needs a value of one kind; a mismatch is a client error, not a silent no-op.
    expected = {
        "eq": kind,
        "contains": "string",
        "not_contains": "string",
        "in": "array",
        "not_in": "array",
        "before": "date",
        "after": "date",
    }.get(operator)
    if expected is None:
        raise ValidationFailed(f"filters.operator: {operator} is not supported on customers", field="filters.operator")
    if expected == "date" and kind != "date":
        raise ValidationFailed(f"filters.field: operator {operator} needs a date field, not {name}", field="filters.field")
    if expected == "string" and kind != "string":
        raise ValidationFailed(f"filters.field: operator {operator} needs a text field, not {name}", field="filters.field")
    value = condition.values.get(expected)
    if value is None or value == []:
        raise ValidationFailed(
            f"filters.value: operator {operator} on {name} needs a non-empty value.{expected}", field="filters.value"
        )
    if operator == "eq":
        return Q(**{name: value})
    if operator == "contains":
        return Q(**{f"{name}__icontains": value})
    if operator == "not_contains":
        return ~Q(**{f"{name}__icontains": value})
    if operator == "in":
        return Q(**{f"{name}__in": value})
    if operator == "not_in":
        return ~Q(**{f"{name}__in": value})
    return Q(**{f"{name}__lt" if operator == "before" else f"{name}__gt": value})


def customer_list(*, environment_id: str, query: CustomerQuery) -> QuerySet:
    """The caller's customers matching ``query``, sorted by ``query.sort`` then ``created_at``.

    Raises ValidationFailed for an unknown filter or sort field or an operator/value mismatch.
    """
    customers = _published(environment_id)
    if query.customer_ids:
        customers = customers.filter(pk__in=query.customer_ids)
    if query.external_ids:
        customers = customers.filter(external_id__in=query.external_ids)
    if query.email:
        customers = customers.filter(email__iexact=query.email)
    if query.start_time and query.end_time and query.end_time < query.start_time:
        raise ValidationFailed("end_time must not be before start_time", field="end_time")
    if query.start_time:
        customers = customers.filter(created_at__gte=query.start_time)
    if query.end_time:
        customers = customers.filter(created_at__lte=query.end_time)
    for condition in query.conditions:
        customers = customers.filter(_condition_q(condition))
    ordering = []
    for name, direction in query.sort:
        if name not in SORTABLE_FIELDS:
            raise ValidationFailed(f"sort.field: unknown sort field '{name}' in customer query", field="sort.field")
        ordering.append(f"-{name}" if direction == "desc" else name)
    tiebreak = "-" if query.order == "desc" else ""
    # created_at then id: the id is a ULID, so ties on the timestamp still sort by creation.
    return customers.order_by(*ordering, f"{tiebreak}created_at", f"{tiebreak}id")
