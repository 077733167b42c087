"""CSV export of ledger rows for the support back-office: every column, streamed.

The admin passes the queryset of its filtered changelist; rows are read in chunks through a
server-side cursor and written as they are read, so a 100,000-row export holds one chunk in
memory. Decimals are written in the API's wire form ("1500", "-0.5"), timestamps in RFC 3339 UTC.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from wallets import money
from wallets.models import WalletTransaction

# Every ledger column, by its database name (foreign keys as their ids), in model order.
COLUMNS = [field.attname for field in WalletTransaction._meta.concrete_fields]
_CHUNK = 2000
# A cell starting with one of these runs as a formula when the file is opened in a spreadsheet;
# ledger text (descriptions, references) comes from API clients, so it is neutralised.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """The file-like object csv.writer needs; it hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money.format_decimal(value)
    if isinstance(value, datetime):
        return value.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def csv_lines(rows: Iterable[WalletTransaction]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for row in rows:
        yield writer.writerow([cell(getattr(row, column)) for column in COLUMNS])


def transactions_csv_response(queryset: QuerySet[WalletTransaction], *, filename: str) -> StreamingHttpResponse:
    # The changelist joins wallets and customers for display; the export needs only the row's own columns.
    rows = queryset.select_related(None).iterator(chunk_size=_CHUNK)
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
