"""CSV export of ledger rows for the support back-office: every column, streamed.

The admin passes the queryset of its filtered changelist; rows are read in chunks through a
server-side cursor, as plain tuples, and written as they are read, so a 100,000-row export holds
one chunk in memory. Decimals are written in the API's wire form ("1500", "-0.5"), timestamps
and text as core.csv_cells writes them (RFC 3339 UTC; formulas neutralised), metadata as compact JSON.
"""

import csv
import json
from collections.abc import Callable, Iterable, Iterator

from django.db import models
from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from core import csv_cells
from wallets.ledger import money
from wallets.models import WalletTransaction

_FIELDS = WalletTransaction._meta.concrete_fields
# Every ledger column, by its database name (foreign keys as their ids), in model order.
COLUMNS = [field.attname for field in _FIELDS]
_CHUNK = 2000


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _formatter(field: models.Field) -> Callable[[object], str]:
    """How one column's values are written; chosen once per column, not per cell."""
    if isinstance(field, models.DecimalField):
        write = money.format_decimal
    elif isinstance(field, models.DateTimeField):
        write = csv_cells.timestamp
    elif isinstance(field, models.JSONField):
        write = _json
    elif isinstance(field, (models.CharField, models.TextField)) and not field.is_relation:
        write = csv_cells.text  # ledger text (descriptions, references) comes from API clients
    else:
        write = str
    return lambda value: "" if value is None else write(value)


_FORMATTERS = [_formatter(field) for field in _FIELDS]


class _Echo:
    """The file-like object csv.writer needs; it hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    """The header, then one line per row of values in COLUMNS order."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for row in rows:
        yield writer.writerow([write(value) for write, value in zip(_FORMATTERS, row, strict=True)])


def transactions_csv_response(queryset: QuerySet[WalletTransaction], *, filename: str) -> StreamingHttpResponse:
    rows = queryset.values_list(*COLUMNS).iterator(chunk_size=_CHUNK)
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
