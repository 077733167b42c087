"""How the support back-office shows wallet data: numbers, status badges, links, the balance chart.

Pure presentation: every function takes values already read and returns text or safe HTML.
Credits are shown in the API's wire form (``wallets.ledger.money.format_decimal``: "1500", "0.5"),
never with the column's nine trailing zeros.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import models
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from wallets.ledger import money

EMPTY = "—"


def credits(value: Decimal | None) -> str:
    return EMPTY if value is None else money.format_decimal(value)


def timestamp(value: datetime | None) -> str:
    return EMPTY if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def badge(value: str, label: str) -> SafeString:
    """A coloured label; the CSS class follows the raw value (wallets/static/wallets/admin.css)."""
    return format_html('<span class="wallet-badge wallet-badge--{}">{}</span>', value, label)


def change_url(obj: models.Model) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])


def changelist_url(model: type[models.Model], **params) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def link(obj: models.Model, text: str | None = None) -> SafeString:
    return format_html('<a href="{}">{}</a>', change_url(obj), text if text is not None else str(obj))


def credits_display(field_name: str, description: str):
    """A ModelAdmin display method (assign it as a class attribute) showing a credits column."""

    def display(model_admin, obj) -> str:
        return credits(getattr(obj, field_name))

    return admin.display(description=description, ordering=field_name)(display)


# The chart is drawn on a fixed grid of integer coordinates; the SVG scales to the page width.
CHART_WIDTH, CHART_HEIGHT = 760, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 90, 12, 14, 28
_ONE_MICROSECOND = timedelta(microseconds=1)


def balance_chart_svg(points: list[tuple[datetime, Decimal]]) -> SafeString:
    """A step chart of credit balance over time: the balance holds until the next ledger row.

    x is proportional to time, y to the balance; zero is always inside the y range, so a
    negative balance shows below the zero line. Coordinates are computed with integers and
    Decimals (truncated to whole grid units), never floats.
    """
    if len(points) < 2:
        return format_html('<p class="wallet-chart-empty">{}</p>', "Not enough ledger history to draw a chart yet.")
    values = [value for _, value in points]
    low, high = min(min(values), Decimal(0)), max(max(values), Decimal(0))
    span = (high - low) or Decimal(1)
    start, end = points[0][0], points[-1][0]
    duration = max((end - start) // _ONE_MICROSECOND, 1)
    plot_width = CHART_WIDTH - _LEFT - _RIGHT
    plot_height = CHART_HEIGHT - _TOP - _BOTTOM

    def x(moment: datetime) -> int:
        return _LEFT + ((moment - start) // _ONE_MICROSECOND) * plot_width // duration

    def y(value: Decimal) -> int:
        return _TOP + int((high - value) * plot_height / span)

    path = [f"M{x(start)},{y(values[0])}"]
    for moment, value in points[1:]:
        path.append(f"H{x(moment)}V{y(value)}")
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2.5"><title>{}: {} credits</title></circle>',
        ((x(moment), y(value), timestamp(moment), credits(value)) for moment, value in points),
    )
    zero = y(Decimal(0))
    # The y axis is labelled at its top, its bottom, and at zero when zero lies between them.
    y_labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="end">{}</text>',
        ((_LEFT - 6, y(value) + 4, credits(value)) for value in sorted({high, low, Decimal(0)}, reverse=True)),
    )
    return format_html(
        '<svg class="wallet-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{label}">'
        '<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>'
        '<line class="zero" x1="{left}" y1="{zero}" x2="{right}" y2="{zero}"/>'
        "{y_labels}"
        '<text x="{left}" y="{h_text}">{start}</text>'
        '<text x="{right}" y="{h_text}" text-anchor="end">{end}</text>'
        '<path class="line" d="{path}"/>{dots}</svg>',
        w=CHART_WIDTH,
        h=CHART_HEIGHT,
        label=f"Credit balance from {timestamp(start)} to {timestamp(end)}",
        left=_LEFT,
        right=CHART_WIDTH - _RIGHT,
        top=_TOP,
        bottom=CHART_HEIGHT - _BOTTOM,
        zero=zero,
        y_labels=y_labels,
        h_text=CHART_HEIGHT - 8,
        start=timestamp(start),
        end=timestamp(end),
        path="".join(path),
        dots=dots,
    )
