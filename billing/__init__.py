"""Project package: settings, URLs, the Celery app and the WSGI/ASGI entry points. No domain code."""

from billing.celery import app as celery_app

__all__ = ["celery_app"]
