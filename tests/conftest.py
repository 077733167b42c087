"""Shared fixtures: a tenant environment with API keys, customers and wallets."""

import uuid
from decimal import Decimal

import pytest

from customers.services import customer_create
from tenancy.services import api_key_create, environment_get_or_create
from wallets import services

_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, with its stragglers cut off before it is dropped.

    A server or worker process a test started, or a thread's connection, can still be attached
    when the run ends; DROP DATABASE would then fail and leave the database behind on the machine.
    """
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def ledger_may_drift():
    """Marks a test whose ledger is deliberately inconsistent: no ledger check afterwards."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After every passing test that used the database, the ledger must still add up
    (wallets.ledger.integrity, the checks of ``manage.py check_ledger``), so every test doubles as a
    check that the write path kept its invariants. A test that corrupts the ledger on purpose,
    to prove something notices, asks for ``ledger_may_drift``."""
    result = yield
    fixtures = set(getattr(item, "fixturenames", ()))
    if (item.get_closest_marker("django_db") or _DB_FIXTURES & fixtures) and "ledger_may_drift" not in fixtures:
        from django.db import connection

        from wallets.ledger import integrity

        if not connection.needs_rollback:  # a test that ends inside a failed transaction has nothing committed to check
            problems = integrity.check_all()
            assert not problems, "the ledger drifted:\n" + "\n".join(map(str, problems[:20]))
    return result


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def environment(db):
    return environment_get_or_create(tenant_name="acme", environment_name="live")


@pytest.fixture
def other_environment(db):
    """Another tenant's environment: its data must stay invisible to ``environment``."""
    return environment_get_or_create(tenant_name="globex", environment_name="live")


@pytest.fixture
def make_customer(environment):
    def make(env=None, **fields):
        fields.setdefault("external_id", f"ext-{uuid.uuid4().hex[:12]}")
        fields.setdefault("name", "Ada Lovelace")
        return customer_create(environment=env or environment, **fields)

    return make


@pytest.fixture
def customer(make_customer):
    return make_customer(email="ada@example.com")


@pytest.fixture
def make_wallet(customer):
    def make(owner=None, **fields):
        fields.setdefault("currency", "usd")
        return services.wallet_create(owner or customer, **fields)

    return make


@pytest.fixture
def wallet(make_wallet):
    return make_wallet()


@pytest.fixture
def credit(wallet):
    """Top up ``wallet`` (or another) with FREE_CREDIT_GRANT credits; returns the ledger row."""

    def add(amount, target=None, **fields):
        fields.setdefault("reason", "FREE_CREDIT_GRANT")
        return services.wallet_top_up(target or wallet, credits=Decimal(str(amount)), **fields).transaction

    return add


@pytest.fixture
def api_key(environment):
    return api_key_create(environment=environment, name="tests")


def _client_for(raw_key: str | None):
    from rest_framework.test import APIClient

    client = APIClient()
    if raw_key is not None:
        client.credentials(HTTP_X_API_KEY=raw_key)
    return client


@pytest.fixture
def api_client(api_key):
    """A DRF test client sending ``environment``'s read-write key as ``x-api-key``."""
    return _client_for(api_key.raw_key)


@pytest.fixture
def read_only_client(environment):
    return _client_for(api_key_create(environment=environment, name="ro", read_only=True).raw_key)


@pytest.fixture
def other_tenant_client(other_environment):
    return _client_for(api_key_create(environment=other_environment, name="other").raw_key)


@pytest.fixture
def anonymous_client():
    return _client_for(None)
