"""The cache's Redis as a plain redis-py client, for what Django's cache API cannot say.

The API's rate limiter and the API key generation (tenancy) run a Lua script there. Django's
Redis cache makes a client per call; this one is made once per process, with the cache's own
options (its time-outs above all), so it fails exactly as the cache would.
"""

import functools

from django.conf import settings


@functools.cache
def cache_redis():
    """A client of the default cache's Redis, or None when the cache is not Redis (zero configuration)."""
    cache_settings = settings.CACHES["default"]
    if cache_settings["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        return None
    import redis

    location = cache_settings["LOCATION"]
    return redis.Redis.from_url(location if isinstance(location, str) else location[0], **cache_settings.get("OPTIONS", {}))
