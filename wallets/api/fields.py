"""Wallet-specific serializer fields, next to the strict ones in core.api.fields.

- ``WireDecimalField`` reads a decimal the way the contract allows (JSON string or exact number);
- ``StrictBooleanField`` takes only true/false (as core.api.fields does for integers);
- ``MetadataField`` applies the ledger's metadata rules (core.inputs);
- ``DecimalString`` only documents a decimal in a response: responses are plain dicts
  built by wallets.api.render.
"""

from decimal import Decimal

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import inputs
from core.exceptions import ValidationFailed
from wallets.ledger import money

DECIMAL_PATTERN = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
DECIMAL_OUTPUT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true``/``false``; in a query string (all text) the words ``true``/``false``.

    ``1``, ``"yes"`` and the like are refused. DRF reads an absent boolean in a query string
    as ``false`` (an unticked HTML checkbox); here an absent flag stays absent.
    """

    default_error_messages = {"invalid": "Must be a boolean: true or false."}
    default_empty_html = serializers.empty
    _WORDS = {"true": True, "false": False}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and isinstance(self.root.initial_data, QueryDict) and data in self._WORDS:
            return self._WORDS[data]
        self.fail("invalid")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": DECIMAL_PATTERN, "example": "10.5"},
            {"type": "number"},
        ],
        "description": "A decimal: a JSON string (preferred) or an exact JSON number.",
    }
)
class WireDecimalField(serializers.Field):
    """A decimal sent as a JSON string or an exact JSON number; ranges are the services' business."""

    default_error_messages = {"invalid": 'Must be a decimal number: a JSON string such as "10.5" or an exact JSON number.'}

    def to_internal_value(self, data) -> Decimal:
        try:
            return money.parse_decimal(data, field=self.field_name)
        except ValidationFailed:
            self.fail("invalid")

    def to_representation(self, value):
        return money.format_decimal(value)


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}, "example": {"plan": "pro"}})
class MetadataField(serializers.Field):
    """A flat object of string values (core.inputs.check_metadata)."""

    def to_internal_value(self, data) -> dict[str, str]:
        try:
            return inputs.check_metadata(data, field=self.field_name)
        except ValidationFailed as exc:
            raise serializers.ValidationError(exc.message) from None

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "string", "pattern": DECIMAL_OUTPUT_PATTERN, "example": "1500"})
class DecimalString(serializers.CharField):
    """Response schema of a decimal: a string, no exponent, trailing zeros trimmed."""


@extend_schema_field({"type": "object", "additionalProperties": True})
class AnyObjectField(serializers.Field):
    """A JSON object whose members this API does not read (accepted and ignored)."""

    default_error_messages = {"invalid": "Must be a JSON object."}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value
