"""API-key authentication, the read-only/read-write permission and per-key throttling for DRF.

After authentication ``request.auth`` is the ApiKey and ``request.user`` an ApiPrincipal; views
scope every query with ``request.auth.environment_id``.
"""

import hmac

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.settings import api_settings

from tenancy.models import ApiKey
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
        api_key = ApiKey.objects.select_related("environment").filter(key_hash=digest).first()
        # The lookup is by hash, so timing reveals nothing about the key; compare_digest keeps
        # the final equality check constant-time as well.
        if api_key is None or not hmac.compare_digest(api_key.key_hash, digest) or not api_key.is_usable():
            raise exceptions.AuthenticationFailed()
        touch_last_used(api_key)
        return ApiPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return "x-api-key"


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
    scope = "api_key"

    def get_rate(self):
        # DRF binds THROTTLE_RATES once at import; read the setting per request instead, so a
        # changed API_RATE_LIMIT (or a test's settings override) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.id}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def touch_last_used(api_key: ApiKey) -> None:
    """Record use at most once a minute, so reads do not turn into writes on every request."""
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
