"""Hand-written SQL for the few lookups on every API request's path, returning ordinary model instances.

Compiling an ORM query costs 0.3-0.7 ms of CPU on a small machine, several times what the
database needs to answer a lookup by key (benchmarks/RESULTS.md records the measurements). The
queries every request runs (the API key, the wallet, the customer) are therefore written out
once, in the modules that own them, and turned into model instances here exactly as the ORM
would: the column lists come from the models, so a new field needs no SQL change, and each
value goes through the same converters the ORM applies (JSON fields; SQLite's types).
"""

import functools

from django.db import connection
from django.db.models import Model


@functools.cache
def _layout(model: type[Model]) -> tuple[list[str], list[str], list]:
    fields = model._meta.concrete_fields
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [f"{table}.{connection.ops.quote_name(field.column)}" for field in fields]
    converters = []
    for position, field in enumerate(fields):
        expression = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        if found:
            converters.append((position, expression, found))
    return columns, [field.attname for field in fields], converters


def columns(model: type[Model]) -> str:
    """The model's columns, table-qualified, in the order ``instance`` reads them."""
    return ", ".join(_layout(model)[0])


def width(model: type[Model]) -> int:
    return len(_layout(model)[1])


def instance(model: type[Model], row, start: int = 0) -> Model:
    """The ``model`` instance held in ``row[start:start + width(model)]`` (selected with ``columns``)."""
    _, attnames, converters = _layout(model)
    values = list(row[start : start + len(attnames)])
    for position, expression, found in converters:
        for converter in found:
            values[position] = converter(values[position], expression, connection)
    return model.from_db(connection.alias, attnames, values)


def value(field, raw):
    """``raw`` as read from ``field``'s column (or an aggregate of it), converted as the ORM would."""
    expression = field.get_col(field.model._meta.db_table)
    for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
        raw = converter(raw, expression, connection)
    return raw


def fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
