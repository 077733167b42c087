"""Every /v1 operation the URL resolver serves, as ``("GET", "/v1/customers/{id}")`` pairs.

Read from Django's resolver rather than listed by hand, so a route added later shows up in the
tests that must cover every route (the isolation matrix, the OpenAPI coverage check).
"""

import re

from django.urls import URLPattern, URLResolver, get_resolver

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_NOT_OPERATIONS = {"head", "options", "trace"}


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset bound with as_view({"get": "list", ...})
        return sorted(method.upper() for method in actions if method not in _NOT_OPERATIONS)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        raise AssertionError(f"cannot tell which methods {callback!r} serves")
    return sorted(
        method.upper() for method in view_class.http_method_names if method not in _NOT_OPERATIONS and hasattr(view_class, method)
    )


def _walk(patterns, prefix: str):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def api_operations() -> list[tuple[str, str]]:
    operations = []
    for route, callback in _walk(get_resolver().url_patterns, "/"):
        if route.startswith("/v1/"):
            path = _CONVERTER.sub(r"{\1}", route)
            operations.extend((method, path) for method in _methods(callback))
    return operations
