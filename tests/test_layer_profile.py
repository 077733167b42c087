"""benchmarks/layer_profile.py gives each py-spy sample to the layer it belongs to.

The stacks below are shaped like py-spy's raw output (root first, ``function (file:line)``), cut
down to the frames the rules read.
"""

import pytest

from benchmarks.layer_profile import WAITING, layer_counts, shares

SERVER = "Thread.run (threading.py:982);ThreadWorker.handle_request (gunicorn/workers/gthread.py:771)"
DJANGO = (
    f"{SERVER};WSGIHandler.__call__ (django/core/handlers/wsgi.py:124);"
    "BaseHandler.get_response (django/core/handlers/base.py:140)"
)
VIEW = f"{DJANGO};BaseHandler._get_response (django/core/handlers/base.py:197);APIView.dispatch (rest_framework/views.py:512)"
AUTH = f"{VIEW};APIView.initial (rest_framework/views.py:420);APIView.perform_authentication (rest_framework/views.py:330)"

STACKS = {
    f"{SERVER};Response.send_headers (gunicorn/http/wsgi.py:350)": "server (gunicorn or granian: HTTP, sockets)",
    f"{DJANGO};URLResolver.resolve (django/urls/resolvers.py:670)": "Django handler, URL resolving, request/response",
    f"{DJANGO};MiddlewareMixin.__call__ (django/utils/deprecation.py:120);"
    "MessageMiddleware.process_request (django/contrib/messages/middleware.py:12)": "Django middleware",
    f"{AUTH};ApiKeyAuthentication.authenticate (tenancy/authentication.py:56)": "DRF authentication (with our key lookup)",
    f"{AUTH};count_request (tenancy/authentication.py:150);Redis.execute_command (redis/client.py:600)": "Redis client",
    f"{VIEW};APIView.perform_content_negotiation (rest_framework/views.py:300);"
    "_MediaType.__init__ (rest_framework/utils/mediatypes.py:60)": "DRF content negotiation",
    f"{VIEW};WalletViewSet.top_up (wallets/api/views.py:270);"
    "Field.__deepcopy__ (rest_framework/fields.py:641)": "DRF serializers (input validation)",
    f"{VIEW};WalletViewSet.top_up (wallets/api/views.py:270);wallet_top_up (wallets/services/credits.py:60);"
    "now (django/utils/timezone.py:200)": "our code (views, services, ledger, render)",
    f"{VIEW};WalletViewSet.retrieve (wallets/api/views.py:230);fetch (core/rawsql.py:150);"
    "Cursor.execute (psycopg/cursor.py:97)": "psycopg and Django's DB wrapper",
    f"{VIEW};WalletViewSet.retrieve (wallets/api/views.py:230);fetch (core/rawsql.py:150);"
    "Connection.wait (psycopg/connection.py:495)": WAITING,
    f"{DJANGO};SimpleTemplateResponse.render (django/template/response.py:114);"
    "Response.rendered_content (rest_framework/response.py:74);dumps (json/__init__.py:238);"
    "JSONEncoder.encode (json/encoder.py:200)": "JSON encode/decode",
}


@pytest.mark.parametrize("stack", STACKS, ids=range(len(STACKS)))
def test_each_sample_goes_to_its_layer(stack):
    assert layer_counts(f"{stack} 3") == {STACKS[stack]: 3}


def test_waiting_samples_are_left_out_of_the_shares():
    raw = "\n".join(f"{stack} 1" for stack in STACKS)
    layers = shares(layer_counts(raw))
    assert WAITING not in layers
    assert sum(layers.values()) == pytest.approx(100)
