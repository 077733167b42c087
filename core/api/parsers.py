"""The API's only body parser: JSON read exactly and defensively.

- numbers with a fraction or exponent become ``Decimal`` (never float), integers stay ``int``;
- NaN/Infinity literals, duplicate keys, NUL characters, lone surrogates and nesting deeper
  than ``API_MAX_JSON_DEPTH`` are refused with a 400 that says what was wrong;
- a body over ``API_MAX_BODY_BYTES`` is refused with a 413 before it is read whole;
- an empty body is an empty object; a body of whitespace alone is malformed JSON (400).
"""

import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "Request body is too large"
    default_code = "request_too_large"


class _DuplicateKey(ValueError):
    pass


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number")


def _object_without_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _check_structure(value, max_depth: int) -> None:
    """Walk the parsed body without recursion: depth, NUL characters, unencodable strings."""
    stack = [(value, 1, "body")]
    while stack:
        item, depth, where = stack.pop()
        if depth > max_depth:
            raise ParseError(f"JSON body is nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_string(key, f"key {key!r}")
                stack.append((child, depth + 1, key))
        elif isinstance(item, list):
            stack.extend((child, depth + 1, where) for child in item)
        elif isinstance(item, str):
            _check_string(item, where)


def _check_string(text: str, where: str) -> None:
    if "\x00" in text:
        raise ParseError(f"{where}: NUL characters are not allowed")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError(f"{where}: invalid Unicode (lone surrogate)") from None


class ExactJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"Request body is larger than {limit} bytes")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"Request body is larger than {limit} bytes")
        # No body at all means no fields (a search without filters). Whitespace alone is not a
        # JSON document, so it is malformed like any other text that is not one.
        if not raw:
            return {}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("Request body is not valid UTF-8") from None
        try:
            data = json.loads(
                text,
                parse_float=Decimal,
                parse_constant=_refuse_constant,
                object_pairs_hook=_object_without_duplicates,
            )
        except _DuplicateKey as exc:
            raise ParseError(f"Duplicate key {exc.args[0]!r} in JSON body") from None
        except RecursionError:
            raise ParseError("JSON body is nested too deeply") from None
        except ValueError as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None
        _check_structure(data, settings.API_MAX_JSON_DEPTH)
        return data
