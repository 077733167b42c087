"""Every API error in one shape: ``{"code", "message", "http_status_code", "details"?}``.

The exception handler maps domain errors (core.exceptions), DRF's own errors and anything
unexpected to that shape. Missing or bad API keys answer 401 ``{"error": "Unauthorized"}``, as
Flexprice does. ``json_not_found`` / ``json_server_error`` give /v1 paths the same shape for
routes that do not exist and for crashes outside a view.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.exceptions import ServiceError

logger = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "validation_error": 400,
    "invalid_operation": 400,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "internal_error": 500,
}
API_PREFIX = "/v1/"


def error_body(code: str, message: str, status: int, details: dict | None = None) -> dict:
    body = {"code": code, "message": message, "http_status_code": status}
    if details:
        body["details"] = details
    return body


def _first_message(detail, path: str = "") -> tuple[str, str]:
    """The first (field, message) in DRF's nested error detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            # Keys are field names, or list positions (ints) for an error inside a list item.
            field = "" if key == "non_field_errors" else str(key)
            return _first_message(value, f"{path}.{field}".strip(".") if field else path)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], path)
    return path, str(detail)


def _validation_response(exc: drf.ValidationError) -> Response:
    field, message = _first_message(exc.detail)
    text = f"{field}: {message}" if field else message
    details = {"field": field, "errors": exc.get_full_details()} if field else {"errors": exc.get_full_details()}
    return Response(error_body("validation_error", text, 400, details), status=400)


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        status = STATUS_BY_CODE.get(exc.code, 500)
        return Response(error_body(exc.code, exc.message, status, exc.details), status=status)
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return Response({"error": "Unauthorized"}, status=401)
    if isinstance(exc, drf.ValidationError):
        return _validation_response(exc)
    if isinstance(exc, drf.ParseError):
        return Response(error_body("validation_error", f"Invalid request format: {exc.detail}", 400), status=400)
    if isinstance(exc, (drf.PermissionDenied, DjangoPermissionDenied)):
        message = str(getattr(exc, "detail", "")) or "You do not have permission to perform this action"
        return Response(error_body("permission_denied", message, 403), status=403)
    if isinstance(exc, (drf.NotFound, Http404)):
        return Response(error_body("not_found", "Resource not found", 404), status=404)
    if isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        response = Response(
            error_body("too_many_requests", f"Rate limit exceeded; retry in {wait} seconds", 429, {"retry_after": wait}),
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    if isinstance(exc, drf.MethodNotAllowed):
        return Response(error_body("method_not_allowed", str(exc.detail), 405), status=405)
    if isinstance(exc, drf.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "validation_error"
        return Response(error_body(code, str(exc.detail), exc.status_code), status=exc.status_code)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        return _unavailable("The database is unavailable; retry shortly")
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        # Redis holds the rate-limit counters: while it is down requests are refused, not let
        # through unmetered, and a client told 503 knows to retry (reliability/faults.py).
        logger.warning("cache unavailable: %s", exc)
        return _unavailable("A service the API depends on is unavailable; retry shortly")
    if isinstance(exc, DatabaseError):
        logger.exception("database error in %s", context.get("view"))
    else:
        logger.exception("unexpected error in %s", context.get("view"))
    return Response(error_body("internal_error", "An unexpected error occurred", 500), status=500)


def _unavailable(message: str) -> Response:
    response = Response(error_body("service_unavailable", message, 503), status=503)
    response["Retry-After"] = "1"
    return response


def _is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def json_not_found(request, exception=None):
    if _is_api_path(request.path):
        return JsonResponse(error_body("not_found", f"No route for {request.method} {request.path}", 404), status=404)
    return defaults.page_not_found(request, exception)


def json_server_error(request):
    if _is_api_path(request.path):
        return JsonResponse(error_body("internal_error", "An unexpected error occurred", 500), status=500)
    return defaults.server_error(request)
