"""Serializer fields that take JSON types literally, for request bodies and query strings.

DRF's CharField turns ``123`` into ``"123"`` and its IntegerField reads ``"١٢"`` (Arabic-Indic
digits) and ``"5.0"`` as integers. The contract wants a wrong type or a non-ASCII digit to be a
400 naming the field, so request serializers use these instead.
"""

from django.http import QueryDict
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from core.api.serializers import InputSerializer


class StrictCharField(serializers.CharField):
    """A JSON string, nothing else (numbers, booleans and objects are refused)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer; in a query string (where everything is text), ASCII digits with an optional sign."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str) and isinstance(getattr(self.root, "initial_data", None), QueryDict):
            digits = data[1:] if data.startswith("-") else data
            # The length cap keeps int() cheap; anything longer is out of every range we accept.
            if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):
                self.fail("invalid")
            data = int(data)
        elif not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateTimeField(serializers.DateTimeField):
    """An RFC 3339 string written in ASCII (Django's parser would read Arabic-Indic digits too),
    with its offset: DRF would read a timestamp without one in the server's time zone."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not value.isascii():
            self.fail("invalid", format="RFC 3339, e.g. 2030-01-01T00:00:00Z")
        try:
            parsed = parse_datetime(value)
        except ValueError:  # well formed but impossible (February 30th); DRF's own check says so
            parsed = None
        if parsed is not None and parsed.tzinfo is None:
            self.fail("invalid", format="RFC 3339 with an offset, e.g. 2030-01-01T00:00:00Z")
        return super().to_internal_value(value)


class QuerySerializer(InputSerializer):
    """Base for serializers that may read a query string. A parameter that is not a list must come
    once (``?limit=abc&limit=5`` is refused, not read as its last value), and an empty value is
    refused unless the field allows blanks (DRF would read ``?start_time=`` as "not given").
    Bodies pass through untouched."""

    def to_internal_value(self, data):
        if isinstance(data, QueryDict):
            for name, field in self.fields.items():
                values = data.getlist(name)
                if not isinstance(field, serializers.ListField) and len(values) > 1:
                    raise serializers.ValidationError({name: [f"{name} may be given only once"]})
                if "" in values and not getattr(field, "allow_blank", False):
                    raise serializers.ValidationError({name: [f"{name} must not be empty"]})
        return super().to_internal_value(data)
