"""Hot statements are prepared on the server once per connection, not parsed and planned per
request (billing/settings.py, DB_PREPARE_THRESHOLD; Django leaves preparing off unless asked)."""

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db

# The API's read of one wallet (wallets.selectors.wallet_get), as the server holds it prepared.
WALLET_READ = "FROM wallets_wallet WHERE wallets_wallet.environment_id = $"


def prepared_wallet_reads() -> list[str]:
    """The statements this connection's server session holds prepared that read one wallet."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall() if WALLET_READ in statement]


def read_the_wallet(api_client, wallet, times: int) -> None:
    for _ in range(times):
        assert api_client.get(f"/v1/wallets/{wallet.id}").status_code == 200


def test_the_settings_ask_for_preparing():
    assert settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] == 5
    assert connection.connection.prepare_threshold == 5


def test_a_read_repeated_past_the_threshold_is_prepared_once(api_client, wallet):
    read_the_wallet(api_client, wallet, 4)
    assert prepared_wallet_reads() == []  # parsed and planned each time so far
    read_the_wallet(api_client, wallet, 10)
    assert len(prepared_wallet_reads()) == 1  # prepared at the fifth run, then reused


def test_control_with_preparing_off_nothing_is_prepared(api_client, wallet):
    """Negative control: Django's default (no threshold) prepares nothing, however often a statement runs."""
    connection.connection.prepare_threshold = None
    try:
        read_the_wallet(api_client, wallet, 10)
        assert prepared_wallet_reads() == []
    finally:
        connection.connection.prepare_threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
