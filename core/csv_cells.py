"""Cells of the back-office's CSV exports (the ledger's and the staff activity log's), written one way.

- ``text``: the text as it is, except that a cell a spreadsheet would run as a formula gets a
  leading apostrophe: ledger descriptions come from API clients, activity-log notes from staff.
- ``timestamp``: RFC 3339 in UTC with "Z", as the API writes instants.
"""

from datetime import UTC, datetime

# A cell starting with one of these runs as a formula when the file is opened in a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
