"""Content negotiation for an API that answers JSON only.

DRF's negotiation parses the Accept header into media types, ranks them and matches each
against every renderer on every request. The API has one renderer, so when the client accepts
anything or exactly JSON (no header, ``*/*``, ``application/json``) and names no format in the
query string, the answer is known without that work. Anything else (another type, media type
parameters, several types, an empty header, ``?format=``) goes through DRF's negotiation, which
refuses what the API cannot produce with a 406 exactly as before (an empty header included).
"""

from rest_framework.negotiation import DefaultContentNegotiation

_NO_HEADER = None
_ANY_OR_JSON = frozenset((_NO_HEADER, "*/*", "application/json"))


class JsonContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            len(renderers) == 1
            and format_suffix is None
            and request.META.get("HTTP_ACCEPT", _NO_HEADER) in _ANY_OR_JSON
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            renderer = renderers[0]
            return renderer, renderer.media_type
        return super().select_renderer(request, renderers, format_suffix)
