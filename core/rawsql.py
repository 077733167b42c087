"""Hand-written SQL for the statements on every API request's path, with ordinary model instances.

Compiling an ORM statement costs 0.2-0.9 ms of CPU on a small machine, several times what the
database needs to answer a lookup by key or insert a row (benchmarks/RESULTS.md records the
measurements). The statements every request runs (the API key, the wallet and its lock, the
ledger row, the balance update) are therefore written out once, in the modules that own them,
with the help of this module, which does exactly what the ORM would: column lists come from the
models, so a new field needs no SQL change; values read go through the ORM's converters (JSON
fields) and values written through each field's ``get_db_prep_save``.

Reads (``fetch``) go where the database routers send reads of the model they name, as the ORM's
would: a lag-tolerant view's reads on a replica (core.db.replica) stay there, so one response
never mixes two points in time. Writes, and ``fetch_together`` (the ledger's locked write path,
run inside an atomic block), use the default connection, the primary.
"""

import contextlib
import functools

from django.db import connection, connections, router
from django.db.models import Model

# PostgreSQL takes at most 65,535 parameters in one statement.
_MAX_PARAMETERS = 60_000


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


@functools.cache
def _insert_layout(model: type[Model]) -> tuple[str, list]:
    # Auto-increment keys are left to the database (and not read back: nothing here needs them).
    fields = [field for field in model._meta.concrete_fields if not field.primary_key or not field.db_returning]
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    return f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({names}) VALUES ", fields


def insert(*instances: Model) -> None:
    """INSERT ``instances`` (of one model) in one statement, with the values Model.save() would write.

    Each field's ``pre_save`` and ``get_db_prep_save`` prepare its value, as the ORM's insert
    does; unlike save(), no signal is sent (nothing in this project listens to one).
    """
    statement, fields = _insert_layout(type(instances[0]))
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, _MAX_PARAMETERS // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(instances), per_statement):
            batch = instances[start : start + per_statement]
            params = [
                field.get_db_prep_save(field.pre_save(instance, True), connection) for instance in batch for field in fields
            ]
            cursor.execute(statement + ", ".join([row] * len(batch)), params)
    for instance in instances:
        instance._state.adding = False
        instance._state.db = connection.alias


def update(instance: Model, names: list[str]) -> None:
    """UPDATE ``instance``'s row with its current values of the fields ``names``, as save(update_fields=) would."""
    meta = type(instance)._meta
    fields = [meta.get_field(name) for name in names]
    assignments = ", ".join(f"{connection.ops.quote_name(field.column)} = %s" for field in fields)
    params = [field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(meta.db_table)} SET {assignments}"
            f" WHERE {connection.ops.quote_name(meta.pk.column)} = %s",
            [*params, instance.pk],
        )


@contextlib.contextmanager
def pipeline():
    """In an outermost atomic block, send the block's statements without waiting for each answer.

    PostgreSQL's pipeline mode: the block's statements cost one round trip instead of one each.
    Reading a statement's rows waits for it and those before it, and the end of the block waits
    for all; an error from any of them (a unique key, a check constraint) is raised there, as
    the usual Django exception. Only for statements whose outcome nothing reads early (no
    save() of an existing row: it reads its row count).

    Inside a savepoint (an atomic block within another) the statements simply run one by one:
    an error leaves the pipeline aborted until it is synced, which Django's rollback of an
    outermost block copes with (psycopg syncs before its ROLLBACK) but a rollback to a savepoint
    would not. Likewise within an open pipeline.
    """
    if getattr(connection, "_rawsql_pipeline", False) or len(connection.atomic_blocks) != 1 or connection.savepoint_ids:
        yield
        return
    connection._rawsql_pipeline = True
    try:
        with connection.wrap_database_errors, connection.connection.pipeline():
            yield
    finally:
        connection._rawsql_pipeline = False


def fetch_together(statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """Run the SELECT ``statements`` ((sql, params)) in order, on the primary; each one's rows.

    In one round trip where ``pipeline`` may be used; one after the other otherwise. For the
    write path (a row lock and what it reads with it), so never routed to a replica.
    """
    with pipeline(), contextlib.ExitStack() as stack:
        cursors = [stack.enter_context(connection.cursor()) for _ in statements]
        for cursor, (sql, params) in zip(cursors, statements, strict=True):
            cursor.execute(sql, params)
        return [cursor.fetchall() for cursor in cursors]


def fetch(sql: str, params, *, model: type[Model]) -> list[tuple]:
    """The rows of the SELECT ``sql``, read on the connection the routers choose for reads of ``model``."""
    with connections[router.db_for_read(model)].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
