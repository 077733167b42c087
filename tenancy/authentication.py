"""API-key authentication, the read-only/read-write permission and per-key throttling for DRF.

After authentication ``request.auth`` is the ApiKey and ``request.user`` an ApiPrincipal; views
scope every query with ``request.auth.environment_id``.

A request costs one Redis round trip before the view runs: a script that counts it against its
key's rate window and returns the API key generation (tenancy.key_cache), so the key itself
comes from the process's memory unless it changed, or was not read in the last minute.
"""

import functools
import hmac
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.settings import api_settings

from core import rawsql
from core.redis_client import cache_redis
from tenancy import key_cache
from tenancy.models import ApiKey, Environment
from tenancy.services import api_key_hash

HEADER = "HTTP_X_API_KEY"
MAX_KEY_LENGTH = 200
LAST_USED_EVERY_SECONDS = 60


class ApiPrincipal:
    """The caller behind an API key; truthy ``is_authenticated`` so DRF treats it as a user."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.id = api_key.id
        self.pk = api_key.id

    def __str__(self) -> str:
        return self.api_key.id


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = request.META.get(HEADER)
        if raw is None or raw == "":
            return None
        if len(raw) > MAX_KEY_LENGTH:
            raise exceptions.AuthenticationFailed()
        digest = api_key_hash(raw)
        # Counted before the key is checked: the answer also says whether remembered keys still hold.
        request.rate_window = count_request(digest)
        api_key = key_by_hash(digest, request.rate_window.key_generation)
        # The lookup is by hash, so timing reveals nothing about the key; compare_digest keeps
        # the final equality check constant-time as well.
        if api_key is None or not hmac.compare_digest(api_key.key_hash, digest) or not api_key.is_usable():
            raise exceptions.AuthenticationFailed()
        touch_last_used(api_key)
        return ApiPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return "x-api-key"


@functools.cache
def _key_sql() -> str:
    return (
        f"SELECT {rawsql.columns(ApiKey)}, {rawsql.columns(Environment)} FROM tenancy_apikey"
        " INNER JOIN tenancy_environment ON tenancy_environment.id = tenancy_apikey.environment_id"
        " WHERE tenancy_apikey.key_hash = %s"
    )


def key_by_hash(digest: str, generation: str | None) -> ApiKey | None:
    """The key with this hash and its environment: remembered under ``generation``, or one query.

    The query is written out in SQL (core.rawsql says why); the instances are built afresh for
    every request, so no request sees another's changes to them.
    """
    row = key_cache.recall(digest, generation)
    if row is None:
        rows = rawsql.fetch(_key_sql(), [digest], model=ApiKey)
        if not rows:
            return None
        row = rows[0]
        key_cache.remember(digest, row, generation)
    api_key = rawsql.instance(ApiKey, row)
    api_key.environment = rawsql.instance(Environment, row, rawsql.width(ApiKey))
    return api_key


class HasApiKey(permissions.BasePermission):
    """Any valid key may read; only read-write keys may write.

    A view marks POST actions that only read (searches) in ``read_only_actions``.
    """

    message = "This API key is read-only"

    def has_permission(self, request, view):
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise exceptions.NotAuthenticated()
        if request.method in permissions.SAFE_METHODS:
            return True
        if getattr(view, "action", None) in getattr(view, "read_only_actions", ()):
            return True
        return not api_key.read_only


class ApiKeyRateThrottle(throttling.BaseThrottle):
    """At most N requests per key per window (API_RATE_LIMIT, e.g. ``6000/min``).

    A fixed-window counter, counted by authentication in its one Redis round trip. DRF's own
    throttle keeps a list of every request's time in the window and rewrites it on each
    request, which at thousands of requests a minute costs more than the request itself.
    """

    def allow_request(self, request, view):
        window = getattr(request, "rate_window", None)
        if window is None or window.limit is None:
            return True
        self.seconds_left = window.seconds_left
        return window.count <= window.limit

    def wait(self):
        return max(1, self.seconds_left)


@dataclass(frozen=True)
class RateWindow:
    count: int  # requests in the key's current window, this one included
    seconds_left: int
    limit: int | None  # None: no limit configured
    key_generation: str | None  # None: keys are not remembered (no Redis)


def count_request(digest: str) -> RateWindow:
    """Count one request against the key's current window and read the key generation."""
    # Read per request, not bound at import as DRF does, so a changed API_RATE_LIMIT (or a
    # test's settings override) takes effect.
    limit, window = parse_rate(api_settings.DEFAULT_THROTTLE_RATES["api_key"])
    counter_key = f"rate_window_api_key_{digest}"
    client = cache_redis()
    if client is None:  # the file cache of the zero-configuration install
        if limit is None:
            return RateWindow(0, 0, None, None)
        cache.add(counter_key, 0, window)
        try:
            return RateWindow(cache.incr(counter_key), window, limit, None)
        except ValueError:  # the window ended between add and incr
            cache.set(counter_key, 1, window)
            return RateWindow(1, window, limit, None)
    count, seconds_left, generation = _count_script()(
        keys=[cache.make_and_validate_key(counter_key), key_cache.generation_key()], args=[window or 0]
    )
    return RateWindow(count, seconds_left, limit, generation.decode())


# Runs atomically in Redis. The request that opens a window (the counter has no lifetime yet)
# sets the window's end, so counting and expiry can never come apart. A missing generation (a
# Redis that restarted empty) is replaced by a new one made of the server's clock, never a value
# seen before. Window 0: no limit, nothing to count.
_COUNT_SCRIPT = """
local generation = redis.call('GET', KEYS[2])
if not generation then
    local now = redis.call('TIME')
    generation = 'restart-' .. now[1] .. '.' .. now[2]
    redis.call('SET', KEYS[2], generation)
end
if ARGV[1] == '0' then
    return {0, 0, generation}
end
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl, generation}
"""


@functools.cache
def _count_script():
    return cache_redis().register_script(_COUNT_SCRIPT)


PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int | None, int]:
    """``"6000/min"`` -> (6000, 60), as DRF reads its rates; None -> no limit."""
    if rate is None:
        return None, 0
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


def touch_last_used(api_key: ApiKey) -> None:
    """Record use at most once a minute, so reads do not turn into writes on every request.

    The row this request saw may be a remembered one, older than the last stamp; the process
    remembers its own stamps, so a remembered row cannot make it stamp again and again.
    """
    now = timezone.now()
    due = api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > LAST_USED_EVERY_SECONDS
    if due and key_cache.claim_stamp(api_key.key_hash, LAST_USED_EVERY_SECONDS):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
