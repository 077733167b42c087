"""Reads that tolerate lag go to a streaming replica; everything else stays on the primary.

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` database and ``ReplicaRouter``.
Unset, there is no ``replica`` alias, ``replica_reads`` does nothing and the middleware removes
itself: one database, as before.

Why opt-in per view and not "every read": a read inside a write (the wallet lock, the lot page,
an idempotency check) must see the primary's latest row, and a read that gates access (API keys,
sessions, staff permissions) must not see a revoked key for the replica's lag. So the replica is
used only when all of these hold, checked by the router on every query:

- the view said so (``@replica_reads``: searches, lists, the admin's list pages, the CSV export,
  the overview), which sets a request-scoped context variable;
- the model belongs to the data apps (``REPLICA_APPS``), never tenancy, auth or sessions;
- no transaction is open on the primary (a read inside an atomic block belongs to that write);
- the caller (API key, or staff user) has written nothing for ``REPLICA_READ_YOUR_WRITES_SECONDS``
  (read-your-writes: a mark in Redis set after each write request; time-based rather than by LSN
  because it costs the write path one Redis SET and no extra database round trip);
- the replica answered its last health check (at most one per ``REPLICA_CHECK_INTERVAL_SECONDS``
  per process): it is in recovery, its WAL receiver runs, and it has replayed what the primary
  had written, or its last replayed commit is at most ``REPLICA_MAX_LAG_SECONDS`` old.

Writes always go to the primary: ``db_for_write`` has one answer, ``select_for_update`` and every
``atomic`` block use the primary, and the ledger's hand-written writes and locked reads use the
default connection. Its other hand-written reads (core.rawsql.fetch) are routed like the ORM's,
so a response's wallet rows and their credits breakdown come from the same database.
A replica that is down or lagging is logged and the read runs on the primary. A replica that fails
mid-request (connection lost, shut down, a query cancelled by a recovery conflict) is set aside
and the view runs again on the primary (it is read-only, so running it again is safe). Any other
error, on either database, is the request's own (a statement timeout, bad data) and is raised
as it would be without a replica.
"""

import contextlib
import contextvars
import functools
import logging
import threading
import time

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.template.response import TemplateResponse

from core.redis_client import cache_redis

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
# Apps whose rows a lag-tolerant page may read from the replica; anything that decides access
# (tenancy's keys, auth, sessions) or schedules work (beat) is always read on the primary.
REPLICA_APPS = frozenset({"wallets", "customers", "invoices", "webhooks"})
_WRITE_MARK = "replica:wrote:{}"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_reads_on = contextvars.ContextVar("replica_reads", default=PRIMARY)


def configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """Sends a read to the replica only inside ``replica_reads`` and outside any write."""

    def db_for_read(self, model, **hints):
        if _reads_on.get() == REPLICA and model._meta.app_label in REPLICA_APPS and not connections[PRIMARY].in_atomic_block:
            return REPLICA
        return PRIMARY

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same rows, one of them possibly a little older

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class _Health:
    """This process's view of the replica: checked at most once per interval, across threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._checked_at: float | None = None  # time.monotonic() of the last check; None: never checked
        self._usable = False

    def _due(self, now: float) -> bool:
        return self._checked_at is None or now - self._checked_at >= settings.REPLICA_CHECK_INTERVAL_SECONDS

    def usable(self) -> bool:
        now = time.monotonic()
        if not self._due(now):
            return self._usable
        with self._lock:
            if self._due(now):
                problem = _replica_problem()
                if problem:
                    logger.warning("replica not used, reads fall back to the primary: %s", problem)
                self._usable, self._checked_at = problem is None, time.monotonic()
        return self._usable

    def failed(self, error: Exception) -> None:
        """A query on the replica failed: stop using it until the next check."""
        logger.warning("replica query failed, read repeated on the primary: %s", error)
        with self._lock:
            self._usable, self._checked_at = False, time.monotonic()
        connections[REPLICA].close()


# Lag is measured against the primary: the replica's own "received = replayed" says nothing when
# WAL shipping itself is behind. The primary's WAL position is read first: its insert position,
# which holds every commit already visible there (the write position can trail it by asynchronous
# commits not yet written); a replica that has replayed up to it lags by 0. Otherwise
# the lag is the age of the last commit it replayed: anything it lacks was committed later, so
# its data is at most that old (an overestimate when the primary has been quiet and only
# non-commit WAL is in flight: the replica is then set aside for one interval, the safe side).
# Chosen over the primary's pg_stat_replication.replay_lag, which needs to know which row is
# this replica, a monitoring role to read, and is NULL once the replica has been idle.
_PRIMARY_WAL_SQL = "SELECT pg_current_wal_insert_lsn()::text"
_REPLICA_LAG_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver),
       CASE WHEN pg_last_wal_replay_lsn() >= %s::pg_lsn THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 'Infinity') END
"""


def _replica_problem() -> str | None:
    """Why the replica must not serve reads now, or None."""
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute(_PRIMARY_WAL_SQL)
        (primary_position,) = cursor.fetchone()
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(_REPLICA_LAG_SQL, [primary_position])
            in_recovery, receiving, lag = cursor.fetchone()
    except DatabaseError as error:
        connections[REPLICA].close()
        return f"unreachable ({str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__})"
    if not in_recovery:
        return "not in recovery (promoted?): it is no longer a copy of the primary"
    if not receiving:
        return "its WAL receiver is not running (cut off from the primary)"
    if lag > settings.REPLICA_MAX_LAG_SECONDS:  # a Decimal (numeric), Infinity when it never replayed a commit
        return f"replay lag {lag:.1f} s > REPLICA_MAX_LAG_SECONDS {settings.REPLICA_MAX_LAG_SECONDS}"
    return None


health = _Health()


def actor_of(request) -> str | None:
    """Whose writes a read must see: the API key, else the logged-in staff user."""
    key = getattr(request, "auth", None)
    if getattr(key, "id", None):
        return f"key:{key.id}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _wrote_recently(actor: str | None) -> bool:
    redis = cache_redis()
    if redis is None:
        return True  # no shared memory of writes: read everything on the primary
    if actor is None:
        return False
    try:
        return bool(redis.exists(_WRITE_MARK.format(actor)))
    except Exception as error:  # any Redis failure: be safe, read the primary
        logger.warning("read-your-writes mark unreadable, reading the primary: %s", error)
        return True


def read_alias(request) -> str:
    """Where this request's lag-tolerant reads go now."""
    if not configured() or _wrote_recently(actor_of(request)) or not health.usable():
        return PRIMARY
    return REPLICA


# SQLSTATEs by which a query says the replica itself failed, not the query: the server shutting
# down (57P01 admin, 57P02 crash, 57P03 cannot connect now), a query cancelled by a conflict with
# recovery (40001) or its database dropped by replay (57P04). Class 08 is a lost connection.
_REPLICA_FAILURE_STATES = frozenset({"57P01", "57P02", "57P03", "57P04", "40001"})


def _is_replica_failure(error: DatabaseError) -> bool:
    """Whether ``error`` (from a query on the replica) means the replica, not the query, failed."""
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    if sqlstate is None:  # no answer from the server: a connection that failed or was lost
        return isinstance(error, (OperationalError, InterfaceError))
    return sqlstate.startswith("08") or sqlstate in _REPLICA_FAILURE_STATES


@contextlib.contextmanager
def _recording_replica_errors(raised: list):
    """Appends to ``raised`` each DatabaseError the replica raises in this block, then lets it go on."""
    replica = connections[REPLICA]
    try:
        # Checked and connected first (what Django does before a request's first query), so a
        # failure to connect is known to be the replica's; the block's queries then use this connection.
        replica.close_if_health_check_failed()
        replica.ensure_connection()
    except DatabaseError as error:
        raised.append(error)
        raise

    def record(execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except DatabaseError as error:
            raised.append(error)
            raise

    with replica.execute_wrapper(record):
        yield


def run_read(request, read):
    """``read()``, which changes nothing, with its lag-tolerant reads on the replica when allowed.

    When the replica fails (its connection cannot be made or is lost, it shuts down, or it
    cancels a query for a conflict with recovery), it is set aside until the next check and
    ``read()`` runs again on the primary. Any other error, and any error of a query on the
    primary, is raised unchanged: a statement timeout or bad data would fail on the primary
    too, at twice the cost, and the caller's error handling answers it as without a replica.
    """
    if read_alias(request) == PRIMARY:
        return read()
    token = _reads_on.set(REPLICA)
    replica_errors = []
    try:
        with _recording_replica_errors(replica_errors):
            return read()
    except DatabaseError as error:
        if not any(error is raised for raised in replica_errors) or not _is_replica_failure(error):
            raise
        health.failed(error)
    finally:
        _reads_on.reset(token)
    return read()


def replica_reads(view_method=None, *, get_only: bool = False):
    """For a read-only view method ``(self, request, ...)``: its reads may come from the replica.

    Mark only views that change nothing (lists; the searches sent as POST). ``get_only``: the view
    also takes writes by POST (the admin's changelist runs its actions so), which stay as before.
    A template response is rendered here, so the queries its template runs are routed too.
    """
    if view_method is None:
        return functools.partial(replica_reads, get_only=get_only)

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        if get_only and request.method not in _SAFE_METHODS:
            return view_method(self, request, *args, **kwargs)
        getattr(request, "_request", request).replica_read_only = True  # not a write: no mark

        def read():
            response = view_method(self, request, *args, **kwargs)
            if isinstance(response, TemplateResponse):
                response.render()
            return response

        return run_read(request, read)

    return wrapper


def pinned(queryset):
    """``queryset`` bound to where this request's reads go now, for rows read after the view returns (a stream).

    A replica failing mid-stream cuts the stream short; its start was checked like any read.
    """
    return queryset.using(REPLICA) if _reads_on.get() == REPLICA else queryset


class ReadYourWritesMiddleware:
    """After a request that may have written, mark its caller so its next reads use the primary."""

    def __init__(self, get_response):
        if not configured():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in _SAFE_METHODS and not getattr(request, "replica_read_only", False):
            actor = actor_of(request)
            redis = cache_redis()
            if actor and redis is not None:
                try:
                    redis.set(_WRITE_MARK.format(actor), 1, ex=settings.REPLICA_READ_YOUR_WRITES_SECONDS)
                except Exception as error:  # the write is done; say so and answer
                    logger.warning("read-your-writes mark not set for %s: %s", actor, error)
        return response
