"""API-key authentication, the read-only/read-write permission and per-key throttling for DRF.

After authentication ``request.auth`` is the ApiKey and ``request.user`` an ApiPrincipal; views
scope every query with ``request.auth.environment_id``.
"""

import functools
import hmac

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.settings import api_settings

from core import rawsql
from tenancy.models import ApiKey, Environment
from tenancy.services import api_key_hash

HEADER = "HTTP_X_API_KEY"
MAX_KEY_LENGTH = 200


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
        api_key = key_by_hash(digest)
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


def key_by_hash(digest: str) -> ApiKey | None:
    """The key with this hash and its environment, in one query written out in SQL (core.rawsql says why).

    Looked up on every request, never cached, so a revocation takes effect on the next one.
    """
    rows = rawsql.fetch(_key_sql(), [digest])
    if not rows:
        return None
    api_key = rawsql.instance(ApiKey, rows[0])
    api_key.environment = rawsql.instance(Environment, rows[0], rawsql.width(ApiKey))
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


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """At most N requests per key per window (API_RATE_LIMIT, e.g. ``6000/min``).

    A fixed-window counter: one cache round trip per request, whatever the rate. DRF's own
    throttle keeps a list of every request's time in the window and rewrites it on each
    request, which at thousands of requests a minute costs more than the request itself.
    """

    scope = "api_key"
    # Not DRF's key: DRF stores a list there, which a counter must never meet.
    cache_format = "rate_window_%(scope)s_%(ident)s"

    def get_rate(self):
        # DRF binds THROTTLE_RATES once at import; read the setting per request instead, so a
        # changed API_RATE_LIMIT (or a test's settings override) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.id}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        count, self.remaining = count_request(self.get_cache_key(request, view), self.duration)
        return count <= self.num_requests

    def wait(self):
        return max(1, self.remaining)


def count_request(key: str, window: int) -> tuple[int, int]:
    """Count one request against ``key``'s current window: (requests so far, seconds the window has left)."""
    script = _count_script()
    if script is None:  # the file cache of the zero-configuration install
        cache.add(key, 0, window)
        try:
            return cache.incr(key), window
        except ValueError:  # the window ended between add and incr
            cache.set(key, 1, window)
            return 1, window
    count, ttl = script(keys=[cache.make_and_validate_key(key)], args=[window])
    return count, ttl


# Runs atomically in Redis: the request that opens a window (the key has no lifetime yet) sets
# the window's end, so counting and expiry can never come apart.
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@functools.cache
def _count_script():
    """The counting script on the cache's Redis, made once per process (Django makes a client per call)."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend != "django.core.cache.backends.redis.RedisCache":
        return None
    import redis

    location = settings.CACHES["default"]["LOCATION"]
    # The cache's own OPTIONS (its time-outs above all), so the limiter fails exactly as the cache would.
    options = settings.CACHES["default"].get("OPTIONS", {})
    client = redis.Redis.from_url(location if isinstance(location, str) else location[0], **options)
    return client.register_script(_COUNT_SCRIPT)


def touch_last_used(api_key: ApiKey) -> None:
    """Record use at most once a minute, so reads do not turn into writes on every request."""
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
