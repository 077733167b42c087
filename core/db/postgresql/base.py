"""Django's PostgreSQL backend with a health check that costs no round trip.

With CONN_HEALTH_CHECKS on, Django sends ``SELECT 1`` before the first query of every request
that reuses a connection: a whole round trip to the server, on requests whose own work is two
or three. Here a reused connection is first checked locally. An idle, healthy connection has
nothing to read: the server speaks only when asked. A connection the server has closed
(restart, crash, ``pg_terminate_backend``, an idle timeout) is readable: an error message, then
end of file. So a quiet, idle socket is healthy, and only a connection with something unread
(or in any state but idle) is asked with ``SELECT 1`` as before. A server that vanished without
closing its sockets is not detected by this, nor by ``SELECT 1`` short of its timeout; the
request's own query then fails with OperationalError, which the API answers with a 503.
"""

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        if self.connection is None or self.connection.closed or self.connection.broken:
            return False
        if self.connection.info.transaction_status == TransactionStatus.IDLE and not _has_unread_data(self.connection.fileno()):
            return True
        return super().is_usable()


def _has_unread_data(fileno: int) -> bool:
    readable, _, _ = select.select([fileno], [], [], 0)
    return bool(readable)
