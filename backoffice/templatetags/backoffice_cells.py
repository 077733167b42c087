"""Template filters for the back-office's table cells (core.admin_cells) and readable codes."""

from django import template

from core import admin_cells
from wallets.admin.display import badge as status_badge
from wallets.admin.display import credits

register = template.Library()


@register.filter
def short_id(value, url=None):
    return admin_cells.short_id(str(value), url or None) if value else ""


@register.filter
def truncated(value):
    return admin_cells.truncated(str(value)) if value else ""


@register.filter
def truncated_link(value, url):
    return admin_cells.truncated(str(value), url)


@register.filter
def about(description, metadata):
    """What a hold (or any row with a description and metadata) is for, on one line:
    the description, then its metadata as key=value pairs ("render job 7 · job=7, region=eu")."""
    pairs = ", ".join(f"{key}={value}" for key, value in (metadata or {}).items())
    return " · ".join(part for part in (description, pairs) if part)


@register.filter
def words(code):
    """A code as words: "PURCHASED_CREDIT_INVOICED" -> "Purchased credit invoiced"."""
    return str(code).replace("_", " ").capitalize() if code else ""


@register.filter
def amount(value, unit):
    """A credit or currency amount in its wire form with its unit, for a right-aligned cell."""
    return admin_cells.amount(credits(value), unit)


@register.filter
def badge(value, label):
    return status_badge(value, label)
