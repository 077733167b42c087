"""Probes for load balancers and orchestrators, outside /v1 and without an API key.

- ``/healthz``: the process is up and serving; touches nothing else, so a database outage never
  makes the orchestrator restart healthy web workers.
- ``/readyz``: the database, the Celery broker and (when it is Redis) the cache answer; 503 with
  a JSON body naming what is down, so traffic goes elsewhere until they are back.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.http import require_safe

from billing.celery import app as celery_app

logger = logging.getLogger(__name__)

# A probe must answer quickly even when a dependency hangs rather than refuses.
PROBE_TIMEOUT_SECONDS = 2


def _database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=PROBE_TIMEOUT_SECONDS)


def _cache() -> None:
    # The API's rate-limit counters live in the cache; without them every request would fail.
    cache.get("readyz-probe")


def _checks() -> dict:
    checks = {"database": _database, "broker": _broker}
    if settings.REDIS_URL:
        checks["cache"] = _cache
    return checks


@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request):
    results, down = {}, []
    for name, check in _checks().items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the class name says which kind
            logger.warning("readiness check %s failed: %r", name, exc)
            results[name] = f"down: {type(exc).__name__}"
            down.append(name)
        else:
            results[name] = "ok"
    if down:
        # Drop a broken database connection so the next probe reconnects instead of reusing it.
        connections["default"].close_if_unusable_or_obsolete()
        return JsonResponse({"status": "unavailable", "down": down, "checks": results}, status=503)
    return JsonResponse({"status": "ok", "checks": results})
