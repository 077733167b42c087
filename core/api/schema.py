"""What drf-spectacular needs beyond the views themselves to describe the API truthfully.

- ``ApiKeyAuthScheme`` documents the ``x-api-key`` header as the security scheme;
- ``ErrorResponseSerializer`` / ``UnauthorizedSerializer`` are the shared error components;
- ``AutoSchema`` adds those error responses to every operation that can produce them, so each
  view declares only its success shape;
- ``list_envelope`` names the ``{"items", "pagination"}`` shape of a list of some serializer.

Selected by ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class ApiKeyAuthScheme(OpenApiAuthenticationExtension):
    target_class = "tenancy.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "x-api-key",
            "description": "A key issued with `manage.py create_api_key`; read-only keys may not write (403).",
        }


class ErrorResponseSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="validation_error, invalid_operation, not_found, already_exists, permission_denied, "
        "too_many_requests, request_too_large, method_not_allowed, service_unavailable or internal_error"
    )
    message = serializers.CharField(help_text="A human-readable explanation; names the field for validation errors.")
    http_status_code = serializers.IntegerField()
    details = serializers.DictField(required=False, help_text="Machine-readable context, e.g. the offending field.")

    class Meta:
        ref_name = "ErrorResponse"


class UnauthorizedSerializer(serializers.Serializer):
    error = serializers.CharField(help_text='Always "Unauthorized".')

    class Meta:
        ref_name = "UnauthorizedResponse"


class PaginationSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Rows matching the query, on every page.")
    limit = serializers.IntegerField()
    offset = serializers.IntegerField(help_text="The next page's offset: the request offset + limit.")

    class Meta:
        ref_name = "Pagination"


def list_envelope(item_serializer: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """A serializer class documenting ``{"items": [item...], "pagination": {...}}`` as component ``name``."""
    meta = type("Meta", (), {"ref_name": name})
    return type(
        name,
        (serializers.Serializer,),
        {"items": item_serializer(many=True), "pagination": PaginationSerializer(), "Meta": meta},
    )


_ERROR_DESCRIPTIONS = {
    "400": "Malformed JSON, a wrong type or value (the message names the field), or an operation the state forbids",
    "401": "Missing, unknown, revoked or expired x-api-key",
    "403": "The API key is read-only",
    "404": "No such object in the key's environment",
    "409": "A uniqueness rule refused the write, or an idempotency key was reused with other parameters",
    "413": "The request body is larger than the limit (1 MiB by default)",
    "429": "Rate limit exceeded for this API key; see Retry-After",
}
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(SpectacularAutoSchema):
    """Spectacular's AutoSchema plus the contract's error responses on each authenticated operation."""

    def _error_codes(self) -> list[str]:
        if not self.get_auth():
            return []
        codes = ["400", "401", "404", "429"]
        if self.method in _WRITE_METHODS:
            codes.append("413")
            if getattr(self.view, "action", None) not in getattr(self.view, "read_only_actions", ()):
                codes += ["403", "409"]
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code in responses:
                continue
            serializer = UnauthorizedSerializer if code == "401" else ErrorResponseSerializer
            response = self._get_response_for_code(serializer, code, direction=direction)
            response["description"] = _ERROR_DESCRIPTIONS[code]
            responses[code] = response
        return responses
