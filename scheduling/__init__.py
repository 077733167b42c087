"""Periodic work: the default beat schedules, kept in django-celery-beat's tables so staff can
see and change them in the admin (Periodic tasks). Celery beat reads them from there."""
