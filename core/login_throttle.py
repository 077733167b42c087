"""Admin login throttling: a lock-out after repeated failed logins for one username from one address.

``ThrottledModelBackend`` is Django's ModelBackend with a counter in front: after
ADMIN_LOGIN_MAX_FAILURES failed logins for the same (username, client address) within
ADMIN_LOGIN_WINDOW_SECONDS, that pair is refused for ADMIN_LOGIN_LOCKOUT_SECONDS, even with the
right password. A success clears the counter. Counters live in the cache (Redis in production,
shared by every web worker) under a hash of the pair, so neither usernames nor addresses are
stored in clear.

Keying on the pair, not the username alone, means an attacker cannot lock a real admin out from
another address. The address is REMOTE_ADDR: X-Forwarded-For is set by the client unless a
trusted proxy rewrites it, so it is not read here. If the cache is down, logins are not throttled
(logged): support staff keep access during a Redis outage, and the password check still runs.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
CACHE_ERRORS = (RedisError, OSError)


def _ident(username: str | None, request) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    pair = f"{(username or '').casefold()}\0{address}"
    return hashlib.sha256(pair.encode("utf-8", "surrogatepass")).hexdigest()


def _failures_key(ident: str) -> str:
    return f"admin-login-failures:{ident}"


def _lock_key(ident: str) -> str:
    return f"admin-login-lock:{ident}"


def is_locked(username: str | None, request) -> bool:
    return cache.get(_lock_key(_ident(username, request))) is not None


def record_failure(username: str | None, request) -> int:
    """Count a failed login; lock the pair out when it reaches the limit. Returns the count."""
    ident = _ident(username, request)
    key, window = _failures_key(ident), settings.ADMIN_LOGIN_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        failures = cache.incr(key)
    except ValueError:  # the window closed between add and incr
        cache.set(key, 1, timeout=window)
        failures = 1
    if failures >= settings.ADMIN_LOGIN_MAX_FAILURES:
        cache.set(_lock_key(ident), 1, timeout=settings.ADMIN_LOGIN_LOCKOUT_SECONDS)
        cache.delete(key)
        logger.warning(
            "admin login locked out for %s s after %s failures (pair %s)",
            settings.ADMIN_LOGIN_LOCKOUT_SECONDS,
            failures,
            ident[:12],
        )
    return failures


def record_success(username: str | None, request) -> None:
    cache.delete(_failures_key(_ident(username, request)))


class ThrottledModelBackend(ModelBackend):
    """ModelBackend behind the lock-out. A locked pair raises PermissionDenied, which makes
    django.contrib.auth.authenticate stop at once and report an ordinary failed login."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        try:
            if is_locked(username, request):
                raise PermissionDenied("too many failed logins")
        except CACHE_ERRORS as exc:
            logger.warning("admin login throttling unavailable (cache down): %r", exc)
            return super().authenticate(request, username=username, password=password, **kwargs)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        try:
            if user is None:
                record_failure(username, request)
            else:
                record_success(username, request)
        except CACHE_ERRORS as exc:
            logger.warning("admin login throttling unavailable (cache down): %r", exc)
        return user
