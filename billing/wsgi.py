"""WSGI entry point (gunicorn billing.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing.settings")
application = get_wsgi_application()

# What is loaded now lives as long as the process: the URLconf is imported here rather than on
# the first request (with its views and serializers), then all of it is moved out of the garbage
# collector's reach. A full collection otherwise walks these ~100k objects again, holding every
# thread of the worker for tens to hundreds of milliseconds on a busy machine: the slowest
# requests of benchmarks/RESULTS.md's B1 waited on it. With gunicorn --preload this runs once,
# before the fork, and the workers share the frozen pages.
get_resolver().url_patterns  # noqa: B018 (imported for its side effect)
gc.collect()
gc.freeze()
