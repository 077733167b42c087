"""Read-only transactions that see the database as of one instant (a consistent snapshot).

For reads that combine several statements and must agree with each other without taking a lock,
such as a wallet's balance and its lots in a debit preview (wallets.services.previews).
"""

import contextlib

from django.db import DEFAULT_DB_ALIAS, connections, transaction

# PostgreSQL's REPEATABLE READ takes one snapshot at the transaction's first statement, and every
# later statement reads from it, so a write that commits between two reads is invisible to both.
# READ COMMITTED (PostgreSQL's default) takes a new snapshot per statement; the snapshot tests
# set it here as their negative control.
ISOLATION = "REPEATABLE READ"


@contextlib.contextmanager
def read_only_snapshot(using: str = DEFAULT_DB_ALIAS):
    """Run the block in a READ ONLY transaction at ``ISOLATION`` on ``using`` (the primary by default).

    Inside a transaction the caller already opened, the block joins it: the isolation level can
    only be set before a transaction's first statement, so the caller's transaction decides.
    Any write in the block fails (PostgreSQL refuses it in a read-only transaction).
    """
    connection = connections[using]
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute(f"SET TRANSACTION ISOLATION LEVEL {ISOLATION}, READ ONLY")
        yield
