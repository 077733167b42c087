"""The connection health check of core/db/postgresql: no round trip for a quiet connection,
and a connection the server has closed is still found out and replaced."""

import time

import psycopg
import pytest
from django.db import InterfaceError, OperationalError, connection

pytestmark = pytest.mark.django_db(transaction=True)


def last_statement_seen_by_the_server(backend_pid: int) -> str:
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as observer:
        return observer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [backend_pid]).fetchone()[0]


def terminate(backend_pid: int) -> None:
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [backend_pid])


def test_a_quiet_idle_connection_is_usable_without_asking_the_server():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement'")
    pid = connection.connection.info.backend_pid

    assert connection.is_usable()

    assert last_statement_seen_by_the_server(pid) == "SELECT 'the last statement'"


def test_a_connection_the_server_closed_is_not_usable_and_is_replaced():
    connection.ensure_connection()
    old_pid = connection.connection.info.backend_pid
    terminate(old_pid)
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:  # until the server's goodbye arrives
        time.sleep(0.05)

    assert not connection.is_usable()

    # What Django does at a request's first query: the health check, then a new connection.
    connection.health_check_enabled, connection.health_check_done = True, False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid


def test_negative_control_a_closed_connection_taken_as_healthy_fails_its_next_query():
    connection.ensure_connection()
    terminate(connection.connection.info.backend_pid)
    time.sleep(0.5)

    connection.health_check_done = True  # as if the check had passed
    with pytest.raises((OperationalError, InterfaceError)) as failure, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert "terminat" in str(failure.value) or "closed" in str(failure.value)
    connection.close()
