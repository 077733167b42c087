"""The base of the API's input serializers: DRF's Serializer, with its fields copied cheaply.

DRF deep-copies every declared field for each serializer it makes, and a field's deep copy runs
its ``__init__`` again (arguments, validators, error messages): on a top-up that was the largest
part of validating the body (benchmarks/RESULTS.md). A field that holds no other field is state
its serializer only reads, once bound, so a shallow copy of it serves as well; fields that hold
others (nested serializers, lists and maps of a child field) are still deep-copied, so each
child stays bound to its own parent.
"""

import copy

from rest_framework import serializers


def _copy(field):
    holds_fields = isinstance(field, serializers.BaseSerializer) or hasattr(field, "child")
    return copy.deepcopy(field) if holds_fields else copy.copy(field)


class InputSerializer(serializers.Serializer):
    def get_fields(self):
        return {name: _copy(field) for name, field in self._declared_fields.items()}
