"""The production routes plus ``GET /bench/constant``, the floor of the HTTP benchmarks.

The floor is the cheapest answer this server can give through the same middleware: a plain
Django view returning JSON bytes built once (a wallet-sized body), with no authentication,
no database and no serialization. Only benchmarks.bench_settings loads this module.
"""

import json

from django.http import HttpResponse
from django.urls import path

from billing.urls import handler404, handler500  # noqa: F401
from billing.urls import urlpatterns as production_urlpatterns

# About the size of a rendered wallet, so both answers put the same bytes on the wire.
CONSTANT_BODY = json.dumps({"id": "constant", "padding": "x" * 1400}).encode()


def constant(request):
    return HttpResponse(CONSTANT_BODY, content_type="application/json")


urlpatterns = [path("bench/constant", constant), *production_urlpatterns]
