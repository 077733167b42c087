"""Checks on service arguments that are not money: metadata, text, dates, priorities, enums.

Services call these before touching the database, so a refused input writes nothing. Each
failure is a ValidationFailed naming the field.
"""

from datetime import UTC, date, datetime, time

from django.utils import timezone

from core.exceptions import ValidationFailed

MAX_PRIORITY = 2**31 - 1  # PostgreSQL integer
MAX_METADATA_ENTRIES = 50
MAX_METADATA_KEY_LENGTH = 100
MAX_METADATA_VALUE_LENGTH = 1000
MAX_DESCRIPTION_LENGTH = 5000


def check_text(value, *, field: str, max_length: int, allow_blank: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string", field=field)
    if "\x00" in value:
        raise ValidationFailed(f"{field} must not contain NUL characters", field=field)
    if len(value) > max_length:
        raise ValidationFailed(f"{field} must be at most {max_length} characters", field=field)
    if not allow_blank and not value.strip():
        raise ValidationFailed(f"{field} is required", field=field)
    return value


def check_metadata(value, *, field: str = "metadata") -> dict[str, str]:
    """Metadata is a flat object of string keys to string values, as Flexprice's SDK types it."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} must be an object of string values", field=field)
    if len(value) > MAX_METADATA_ENTRIES:
        raise ValidationFailed(f"{field} may hold at most {MAX_METADATA_ENTRIES} entries", field=field)
    for key, item in value.items():
        check_text(key, field=f"{field} key", max_length=MAX_METADATA_KEY_LENGTH, allow_blank=False)
        if not isinstance(item, str):
            raise ValidationFailed(f"{field}.{key} must be a string", field=f"{field}.{key}")
        check_text(item, field=f"{field}.{key}", max_length=MAX_METADATA_VALUE_LENGTH)
    return dict(value)


def check_priority(value, *, field: str = "priority") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{field} must be a non-negative integer", field=field)
    if value < 0 or value > MAX_PRIORITY:
        raise ValidationFailed(f"{field} must be a non-negative integer up to {MAX_PRIORITY}", field=field)
    return value


def check_future(value: datetime | None, *, field: str, now: datetime | None = None) -> datetime | None:
    """An expiry must be an aware instant strictly after now."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationFailed(f"{field} must be an RFC 3339 timestamp", field=field)
    if timezone.is_naive(value):
        raise ValidationFailed(f"{field} must carry a time zone (e.g. 2030-01-01T00:00:00Z)", field=field)
    if value <= (now or timezone.now()):
        raise ValidationFailed("Expiry date must be in the future", field=field)
    return value.astimezone(UTC)


def date_from_yyyymmdd(value, *, field: str) -> datetime:
    """Flexprice's integer date form: 20360101 means 2036-01-01T00:00:00Z."""
    if isinstance(value, bool) or not isinstance(value, int) or not 10000101 <= value <= 99991231:
        raise ValidationFailed(f"{field} must be a date written as the integer YYYYMMDD", field=field)
    try:
        day = date(value // 10000, value // 100 % 100, value % 100)
    except ValueError:
        raise ValidationFailed(f"{field} is not a valid calendar date", field=field) from None
    return datetime.combine(day, time.min, tzinfo=UTC)


def check_choice(value, *, field: str, choices) -> str:
    allowed = [str(choice) for choice in choices]
    if value not in allowed:
        raise ValidationFailed(
            f"Invalid {field}", field=field, details={field: value if isinstance(value, str) else None, "allowed": allowed}
        )
    return value
