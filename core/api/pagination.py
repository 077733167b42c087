"""Flexprice's list envelope: ``{"items": [...], "pagination": {"total", "limit", "offset"}}``.

``limit`` is 1..1000 (absent or 0 means 50); ``offset`` ≥ 0. The response's ``offset`` is the
request's offset + limit: Flexprice reports the next page's offset, and its SDK expects that.
"""

from core.exceptions import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_OFFSET = 10**9


def _as_int(value, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationFailed(f"{field} must be an integer", field=field)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit() and len(value) < 12:
        return int(value)
    raise ValidationFailed(f"{field} must be an integer", field=field)


def parse_page(limit, offset) -> tuple[int, int]:
    limit = _as_int(limit, "limit")
    offset = _as_int(offset, "offset")
    if limit is None or limit == 0:
        limit = DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    offset = offset or 0
    if not 0 <= offset <= MAX_OFFSET:
        raise ValidationFailed(f"offset must be between 0 and {MAX_OFFSET}", field="offset")
    return limit, offset


def page_envelope(items: list, *, total: int, limit: int, offset: int) -> dict:
    return {"items": items, "pagination": {"total": total, "limit": limit, "offset": offset + limit}}
