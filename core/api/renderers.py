"""The API's JSON renderer: DRF's JSONRenderer, with the common case encoded by orjson.

Responses are plain dicts and lists of strings, integers, booleans and None (decimals and
times are already strings: wallets.api.render). orjson encodes those to exactly the bytes DRF's
``json.dumps`` call writes with the API's settings (compact separators, UTF-8 rather than
``\\u`` escapes), in a fraction of the time. Anything else goes to DRF's renderer as before: a
type orjson would write its own way (Decimal, datetime, dataclasses, subclasses of str or dict,
lazy translations) makes orjson give up, and so do an ``indent`` in the Accept header and
settings other than the API's. Like DRF, U+2028 and U+2029 are escaped, so the body stays
valid JavaScript.
"""

import orjson
from rest_framework import renderers

_PASS_ON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _not_plain(value):
    raise TypeError(f"{type(value).__name__} is left to DRF's encoder")


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        plain_settings = self.compact and not self.ensure_ascii and self.strict
        if data is None or not plain_settings or (accepted_media_type or self.media_type) != self.media_type:
            return super().render(data, accepted_media_type, renderer_context)
        if renderer_context and renderer_context.get("indent") is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_not_plain, option=_PASS_ON)
        except TypeError:  # orjson.JSONEncodeError included
            return super().render(data, accepted_media_type, renderer_context)
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
