"""Table cells of the support back-office that keep a row on one screen width.

- ``short_id``: "wallet_…M52DGW" (prefix and the last characters, which differ between rows:
  a ULID starts with its timestamp), the full id on hover and a copy button
  (backoffice/static/backoffice/admin.js copies it; no inline script, the CSP forbids it).
- ``truncated``: long text cut with an ellipsis by CSS, the full text on hover.
- ``amount``: a number with its unit, right-aligned by its column (backoffice/static/backoffice/admin.css).
- ``moment``: a UTC timestamp without seconds (the column header says UTC), all of it on hover.

Values arrive already formatted; nothing here does money math.
"""

from datetime import UTC, datetime

from django.utils.html import format_html
from django.utils.safestring import SafeString

ID_TAIL = 6
# Two overlapping sheets, drawn inline: the admin's fonts have no copy glyph.
COPY_ICON = SafeString(
    '<svg width="11" height="11" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" '
    'stroke-width="1.6"><rect x="5" y="5" width="9" height="9" rx="1.5"/><path d="M11 3V2.5A1.5 1.5 0 0 0 9.5 1h-7'
    'A1.5 1.5 0 0 0 1 2.5v7A1.5 1.5 0 0 0 2.5 11H3"/></svg>'
)


def shorten_id(value: str) -> str:
    prefix, _, rest = value.partition("_")
    if not rest or len(rest) <= ID_TAIL + 1:
        return value
    return f"{prefix}_…{rest[-ID_TAIL:]}"


def short_id(value: str, url: str | None = None) -> SafeString:
    """The id shortened, linked when ``url`` is given, with its full text on hover and a copy button."""
    text = shorten_id(value)
    shown = (
        format_html('<a href="{}" title="{}">{}</a>', url, value, text)
        if url
        else format_html('<span title="{}">{}</span>', value, text)
    )
    return format_html(
        '<span class="bo-id">{}<button type="button" class="bo-copy" data-copy="{}" title="Copy {}" '
        'aria-label="Copy {}">{}</button></span>',
        shown,
        value,
        value,
        value,
        COPY_ICON,
    )


def truncated(text: str, url: str | None = None) -> SafeString:
    """``text`` on one line, cut with an ellipsis where its column ends; the whole of it on hover."""
    if url:
        return format_html('<a class="bo-truncate" href="{}" title="{}">{}</a>', url, text, text)
    return format_html('<span class="bo-truncate" title="{}">{}</span>', text, text)


def amount(number: str, unit: str) -> SafeString:
    """A formatted number and its unit ("1500 credits", "12.5 USD"; none when ``unit`` is empty), on one line."""
    if not unit:
        return format_html('<span class="bo-amount">{}</span>', number)
    return format_html('<span class="bo-amount">{}&nbsp;{}</span>', number, unit)


def moment(value: datetime | None, *, time: bool = True) -> SafeString | str:
    """A UTC timestamp for a table cell: "2026-12-04 14:41" (or only the date), the full instant on hover."""
    if value is None:
        return "—"
    value = value.astimezone(UTC)
    shown = value.strftime("%Y-%m-%d %H:%M" if time else "%Y-%m-%d")
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), value.strftime("%Y-%m-%d %H:%M:%S UTC"), shown
    )
